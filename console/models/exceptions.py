"""Failed items grouped by queue, error kind and code."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import count, when
from console.i18n import N_
from console.models.base import RED, RowModel

COL_QUEUE = 0
COL_KIND = 1
COL_CODE = 2
COL_COUNT = 3
COL_LATEST = 4
COL_MESSAGE = 5


class ExceptionsModel(RowModel):
    HEADERS = (N_("Queue"), N_("Kind"), N_("Error code"), N_("Items"), N_("Latest"), N_("Message"))
    NUMERIC = frozenset({COL_COUNT})

    def key(self, row: dict[str, Any]) -> tuple[str, str, str]:
        return (str(row["queue"]), str(row["kind"]), str(row["code"]))

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_QUEUE:
            return str(row["queue"])
        if column == COL_KIND:
            return str(row["kind"])
        if column == COL_CODE:
            return str(row["code"])
        if column == COL_COUNT:
            return count(row.get("count", 0))
        if column == COL_LATEST:
            return when(row.get("latest_at"))
        if column == COL_MESSAGE:
            return " ".join(str(row.get("message") or "").split())
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        if column == COL_COUNT:
            return int(row.get("count", 0))
        if column == COL_LATEST:
            return row.get("latest_at") or ""
        return self.display(row, column)

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        return str(row.get("message") or "") if column == COL_MESSAGE else None

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        return RED if column == COL_CODE else None
