"""The target systems: open or closed, next opening, what waits for them, when the backlog is drained."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import DEFER_REASON, count, label, number, when
from console.i18n import N_, _
from console.models.base import AMBER, GREEN, RowModel

COL_SYSTEM = 0
COL_OPEN = 1
COL_NEXT_OPENING = 2
COL_NEXT_CLOSING = 3
COL_WAITING = 4
COL_DEFERRED = 5
COL_THROUGHPUT = 6
COL_DRAINED = 7


class BacklogModel(RowModel):
    HEADERS = (
        N_("Target system"),
        N_("Now"),
        N_("Next opening"),
        N_("Closes"),
        N_("Waiting"),
        N_("Deferred"),
        N_("Per hour"),
        N_("Drained by"),
    )
    NUMERIC = frozenset({COL_WAITING, COL_THROUGHPUT})

    def key(self, row: dict[str, Any]) -> str:
        return str(row["system"])

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_SYSTEM:
            return str(row["system"])
        if column == COL_OPEN:
            if row.get("open"):
                return _("open")
            reason = row.get("closed_reason")
            return _("closed") + (f" ({reason})" if reason else "")
        if column == COL_NEXT_OPENING:
            return when(row.get("next_opening"))
        if column == COL_NEXT_CLOSING:
            return when(row.get("next_closing"))
        if column == COL_WAITING:
            return count(row.get("waiting_total", 0))
        if column == COL_DEFERRED:
            reasons = row.get("deferred") or {}
            return ", ".join(f"{label(DEFER_REASON, r)} {n}" for r, n in sorted(reasons.items()) if n)
        if column == COL_THROUGHPUT:
            value = row.get("throughput_per_hour")
            return number(value) if value is not None else _("not measured")
        if column == COL_DRAINED:
            return when(row.get("projected_drained_at"))
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        if column == COL_WAITING:
            return int(row.get("waiting_total", 0))
        if column == COL_THROUGHPUT:
            return row.get("throughput_per_hour") or 0.0
        key = {COL_NEXT_OPENING: "next_opening", COL_NEXT_CLOSING: "next_closing",
               COL_DRAINED: "projected_drained_at"}.get(column)  # fmt: skip
        if key:
            return row.get(key) or ""
        return self.display(row, column)

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        if column == COL_WAITING:
            waiting = row.get("waiting") or {}
            return "\n".join(f"{q}: {n}" for q, n in sorted(waiting.items())) or None
        return None

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        if column == COL_OPEN:
            return GREEN if row.get("open") else AMBER
        return None
