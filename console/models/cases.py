"""The clerks' cases, by due date; overdue ones stand out."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import CASE_STATUS, label, when
from console.i18n import N_
from console.models.base import BLUE, GREEN, OVERDUE_BACKGROUND, RED, RowModel

COL_DUE = 0
COL_ID = 1
COL_ITEM = 2
COL_QUEUE = 3
COL_UNIT = 4
COL_REASON = 5
COL_STATUS = 6
COL_ASSIGNEE = 7
COL_NOTE = 8


class CasesModel(RowModel):
    HEADERS = (
        N_("Due"),
        N_("Case"),
        N_("Item"),
        N_("Queue"),
        N_("Unit"),
        N_("Reason"),
        N_("State"),
        N_("Assigned to"),
        N_("Note"),
    )
    NUMERIC = frozenset({COL_ID, COL_ITEM})

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_DUE:
            return when(row.get("due_at"))
        if column == COL_ID:
            return str(row["id"])
        if column == COL_ITEM:
            return str(row["item_id"])
        if column == COL_QUEUE:
            return str(row["queue"])
        if column == COL_UNIT:
            return str(row["unit"])
        if column == COL_REASON:
            return str(row.get("reason_code") or "")
        if column == COL_STATUS:
            return label(CASE_STATUS, row["status"])
        if column == COL_ASSIGNEE:
            return str(row.get("assignee") or "")
        if column == COL_NOTE:
            return " ".join(str(row.get("note") or "").split())
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        if column == COL_DUE:
            return row.get("due_at") or "9999"
        if column in (COL_ID, COL_ITEM):
            return int(row["id" if column == COL_ID else "item_id"])
        return self.display(row, column)

    def background(self, row: dict[str, Any], column: int) -> QColor | None:
        return OVERDUE_BACKGROUND if row.get("overdue") else None

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        if row.get("overdue") and column == COL_DUE:
            return RED
        if column == COL_STATUS:
            return {"claimed": BLUE, "resolved": GREEN}.get(row["status"])
        return None

    def bold(self, row: dict[str, Any], column: int) -> bool:
        return bool(row.get("overdue")) and column == COL_DUE

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        return str(row.get("note") or "") if column == COL_NOTE else None
