"""The queues: per bot its counts, throughput, oldest waiting item, items past due, pause."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import DEFER_REASON, count, duration, label, number, when
from console.i18n import N_, _
from console.models.base import AMBER, PAUSED_BACKGROUND, RED, RowModel

COL_QUEUE = 0
COL_PENDING = 1
COL_RUNNING = 2
COL_DEFERRED = 3
COL_HANDED_OFF = 4
COL_FAILED = 5
COL_DONE_TODAY = 6
COL_THROUGHPUT = 7
COL_OLDEST = 8
COL_PAST_DUE = 9
COL_PAUSED = 10

_COUNT_OF = {
    COL_PENDING: "pending",
    COL_RUNNING: "running",
    COL_HANDED_OFF: "handed_off",
    COL_FAILED: "failed",
}


class QueuesModel(RowModel):
    HEADERS = (
        N_("Bot queue"),
        N_("Waiting"),
        N_("Running"),
        N_("Deferred"),
        N_("With clerks"),
        N_("Failed"),
        N_("Done today"),
        N_("Per hour"),
        N_("Oldest waiting"),
        N_("Past due"),
        N_("Paused"),
    )
    NUMERIC = frozenset({COL_PENDING, COL_RUNNING, COL_DEFERRED, COL_HANDED_OFF, COL_FAILED, COL_DONE_TODAY,
                         COL_THROUGHPUT, COL_OLDEST, COL_PAST_DUE})  # fmt: skip

    def key(self, row: dict[str, Any]) -> str:
        return str(row["queue"])

    def display(self, row: dict[str, Any], column: int) -> str:
        counts = row.get("counts") or {}
        if column == COL_QUEUE:
            return str(row.get("title") or row["queue"])
        if column in _COUNT_OF:
            return count(counts.get(_COUNT_OF[column], 0))
        if column == COL_DEFERRED:
            return count(counts.get("deferred", 0))
        if column == COL_DONE_TODAY:
            return count(row.get("done_today", 0))
        if column == COL_THROUGHPUT:
            return number(row.get("throughput_per_hour"))
        if column == COL_OLDEST:
            return duration(row.get("oldest_waiting_seconds"))
        if column == COL_PAST_DUE:
            return count(row.get("past_due", 0))
        if column == COL_PAUSED:
            if not row.get("paused"):
                return _("no")
            return _("paused by {who}: {why}").format(
                who=row.get("paused_by") or "?", why=row.get("paused_reason") or ""
            )
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        counts = row.get("counts") or {}
        if column in _COUNT_OF:
            return counts.get(_COUNT_OF[column], 0)
        return {
            COL_DEFERRED: counts.get("deferred", 0),
            COL_DONE_TODAY: row.get("done_today", 0),
            COL_THROUGHPUT: row.get("throughput_per_hour") or 0.0,
            COL_OLDEST: row.get("oldest_waiting_seconds") or 0.0,
            COL_PAST_DUE: row.get("past_due", 0),
        }.get(column, self.display(row, column))

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        if column == COL_DEFERRED:
            reasons = row.get("deferred") or {}
            return (
                "\n".join(f"{label(DEFER_REASON, r)}: {n}" for r, n in sorted(reasons.items()) if n) or None
            )
        if column == COL_OLDEST and row.get("oldest_waiting_at"):
            return _("waiting since {at}").format(at=when(row["oldest_waiting_at"]))
        if column == COL_PAUSED and row.get("paused"):
            text = _("paused at {at}").format(at=when(row.get("paused_at")))
            if row.get("resume_at"):
                text += "\n" + _("trial run from {at}").format(at=when(row["resume_at"]))
            return text
        if column == COL_QUEUE:
            return str(row["queue"])
        return None

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        counts = row.get("counts") or {}
        if column == COL_FAILED and counts.get("failed"):
            return RED
        if column == COL_PAST_DUE and row.get("past_due"):
            return RED
        if column == COL_PAUSED and row.get("paused"):
            return AMBER
        return None

    def background(self, row: dict[str, Any], column: int) -> QColor | None:
        return PAUSED_BACKGROUND if row.get("paused") else None

    def deferred_text(self, row: dict[str, Any]) -> str:
        """Deferred items by reason, in one line (the queue's detail)."""
        reasons = row.get("deferred") or {}
        return ", ".join(f"{label(DEFER_REASON, r)} {n}" for r, n in sorted(reasons.items()) if n)
