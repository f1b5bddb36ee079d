"""The tables of one item's detail: its event history and its artifacts."""

from __future__ import annotations

from typing import Any

from console.formatting import STATUS, label, number, when
from console.i18n import N_
from console.models.base import RowModel

COL_EVENT_AT = 0
COL_EVENT_ACTOR = 1
COL_EVENT_FROM = 2
COL_EVENT_TO = 3
COL_EVENT_REASON = 4


class EventsModel(RowModel):
    HEADERS = (N_("When"), N_("By"), N_("From"), N_("To"), N_("Why"))

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_EVENT_AT:
            return when(row.get("at"), seconds=True)
        if column == COL_EVENT_ACTOR:
            return str(row.get("actor") or "")
        if column == COL_EVENT_FROM:
            return label(STATUS, row.get("from"))
        if column == COL_EVENT_TO:
            return label(STATUS, row.get("to"))
        if column == COL_EVENT_REASON:
            return " ".join(str(row.get("reason") or "").split())
        return ""

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        return str(row.get("reason") or "") if column == COL_EVENT_REASON else None


COL_ART_FILE = 0
COL_ART_KIND = 1
COL_ART_TYPE = 2
COL_ART_SIZE = 3
COL_ART_CREATED = 4


class ArtifactsModel(RowModel):
    HEADERS = (N_("File"), N_("Kind"), N_("Media type"), N_("Size"), N_("Created"))
    NUMERIC = frozenset({COL_ART_SIZE})

    def display(self, row: dict[str, Any], column: int) -> str:
        if column == COL_ART_FILE:
            return str(row.get("filename") or "")
        if column == COL_ART_KIND:
            return str(row.get("kind") or "")
        if column == COL_ART_TYPE:
            return str(row.get("media_type") or "")
        if column == COL_ART_SIZE:
            return f"{number(int(row.get('size') or 0) / 1024)} KiB"
        if column == COL_ART_CREATED:
            return when(row.get("created_at"))
        return ""
