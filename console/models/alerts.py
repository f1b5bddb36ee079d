"""Alerts: breaker pauses and resumes, items and cases past their due date."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from console.formatting import ALERT_KIND, label, when
from console.i18n import N_
from console.models.base import AMBER, GREEN, RED, RowModel

COL_AT = 0
COL_KIND = 1
COL_QUEUE = 2
COL_SUBJECT = 3
COL_MESSAGE = 4

KIND_COLOURS = {"queue_paused": AMBER, "queue_resumed": GREEN, "item_overdue": RED, "case_overdue": RED}


class AlertsModel(RowModel):
    HEADERS = (N_("When"), N_("Alert"), N_("Queue"), N_("Concerns"), N_("Message"))

    def key(self, row: dict[str, Any]) -> tuple[str, str, str]:
        return (str(row["kind"]), str(row.get("at")), str(row.get("subject_id")))

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_AT:
            return when(row.get("at"))
        if column == COL_KIND:
            return label(ALERT_KIND, row["kind"])
        if column == COL_QUEUE:
            return str(row.get("queue") or "")
        if column == COL_SUBJECT:
            return str(row.get("subject_id") or "")
        if column == COL_MESSAGE:
            return " ".join(str(row.get("message") or "").split())
        return ""

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        return row.get("at") or "" if column == COL_AT else self.display(row, column)

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        return KIND_COLOURS.get(row["kind"]) if column == COL_KIND else None

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        return str(row.get("message") or "") if column == COL_MESSAGE else None
