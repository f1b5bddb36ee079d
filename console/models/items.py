"""Work items, a page at a time (the API filters and pages; the model only shows)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import DEFER_REASON, STATUS, label, when
from console.i18n import N_
from console.models.base import STATUS_COLOURS, RowModel

COL_ID = 0
COL_QUEUE = 1
COL_STATUS = 2
COL_REFERENCE = 3
COL_CUSTOMER = 4
COL_ATTEMPTS = 5
COL_DUE = 6
COL_CREATED = 7
COL_UPDATED = 8


class ItemsModel(RowModel):
    HEADERS = (
        N_("No."),
        N_("Queue"),
        N_("State"),
        N_("Reference"),
        N_("Customer"),
        N_("Attempts"),
        N_("Due"),
        N_("Created"),
        N_("Changed"),
    )
    NUMERIC = frozenset({COL_ID, COL_ATTEMPTS})

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_ID:
            return str(row["id"])
        if column == COL_QUEUE:
            return str(row["queue"])
        if column == COL_STATUS:
            text = label(STATUS, row["status"])
            if row.get("defer_reason"):
                text += f" ({label(DEFER_REASON, row['defer_reason'])})"
            return text
        if column == COL_REFERENCE:
            return str(row.get("reference") or "")
        if column == COL_CUSTOMER:
            return str(row.get("customer_id") or "")
        if column == COL_ATTEMPTS:
            return f"{row.get('attempts', 0)}/{row.get('max_attempts', 0)}"
        if column == COL_DUE:
            return when(row.get("due_at"))
        if column == COL_CREATED:
            return when(row.get("created_at"))
        if column == COL_UPDATED:
            return when(row.get("updated_at"))
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        if column == COL_ID:
            return int(row["id"])
        if column == COL_ATTEMPTS:
            return int(row.get("attempts", 0))
        key = {COL_DUE: "due_at", COL_CREATED: "created_at", COL_UPDATED: "updated_at"}.get(column)
        if key:
            return row.get(key) or ""
        return self.display(row, column)

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        return STATUS_COLOURS.get(row["status"]) if column == COL_STATUS else None
