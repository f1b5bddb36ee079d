"""What the operator API's routes take and answer besides their bodies: path and query parameters with their
patterns (stated in the OpenAPI document), the error answers each kind of route documents, and the keyset
cursors of its pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AwareDatetime, BeforeValidator

from bots.runtime.api import ErrorBody
from bots.runtime.models import Case, WorkItem

MAX_ITEM_ID = 2**31 - 1
QUEUE_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
UNIT_PATTERN = r"^[^\x00-\x1f]{1,64}$"
# a page's cursor is the key of its last row (opaque to clients); every string of its pattern is a valid key
ITEM_CURSOR = r"^[0-9]{1,10}$"  # the id of the last item
# the due date of the last case (µs since 1970, "-": none) and its id
CASE_CURSOR = r"^(-|[0-9]{1,16})\.[0-9]{1,10}$"


def error_answer(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


COMMON: dict[int | str, dict[str, Any]] = {
    400: error_answer("Malformed JSON body"),
    401: error_answer("No valid token (`unauthorized`) or an expired one (`token_expired`)"),
    403: error_answer("Not allowed for this operator's role or units"),
    413: error_answer("The body is too large"),
    422: error_answer("Invalid fields; `fields` names each one"),
    503: error_answer("The database cannot be reached; try again shortly"),
}
LOOKUP: dict[int | str, dict[str, Any]] = {
    **COMMON,
    404: error_answer("No such item, case, artifact or queue"),
}
ACTION: dict[int | str, dict[str, Any]] = {
    **LOOKUP,
    409: error_answer("Claimed by another clerk, resolved, changed meanwhile, or not possible in its state"),
}


def _iso_text(value: object) -> object:
    """An instant must come as ISO 8601 text (pydantic would take a number as a Unix time, too)."""
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError("an ISO 8601 date-time with an offset, e.g. 2026-11-30T08:00:00+00:00")
    return value


_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID)]
CaseId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID)]
QueueName = Annotated[str, Path(pattern=QUEUE_PATTERN)]
ItemCursor = Annotated[
    str | None, Query(pattern=ITEM_CURSOR, description="`next_cursor` of the previous page")
]
CaseCursor = Annotated[
    str | None,
    Query(pattern=CASE_CURSOR, description="`next_cursor` of the previous page"),
]


# ------------------------------------------------------------------ cursors
# A cursor's pattern is in the OpenAPI document, and every string that matches it is a valid key: a page
# after any key is an answer, never an error.


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def item_cursor(item: WorkItem) -> str:
    return str(item.id)


def case_cursor(case: Case) -> str:
    due = "-" if case.due_at is None else str((case.due_at - EPOCH) // MICROSECOND)
    return f"{due}.{case.id}"


def case_key(cursor: str | None) -> tuple[datetime | None, int] | None:
    if cursor is None:
        return None
    due, _, case_id = cursor.partition(".")
    at = None if due == "-" else EPOCH + int(due) * MICROSECOND
    return at, int(case_id)
