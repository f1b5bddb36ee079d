"""The bodies of the operator API (`/v1/ops`), as its OpenAPI document states them. The answers are built by
`item_view` and `ops_api`; these models describe them (extra fields allowed)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bots.runtime.operators import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, NAME_PATTERN

MAX_IDS = 500
MAX_TEXT = 4000
# At least one character that is not blank.
NOT_BLANK = r"\S"

# ------------------------------------------------------------------ requests


class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class SetupBody(BaseModel):
    """The first supervisor (only while no operator exists, and only where the API allows setup)."""

    name: str = Field(pattern=NAME_PATTERN)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)


class RetryBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)
    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class AbandonBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)
    reason: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)


class ResolveBody(BaseModel):
    resolution: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=MAX_TEXT)


# ------------------------------------------------------------------ answers


class OperatorOut(BaseModel):
    name: str
    role: str
    units: list[str]


class SessionOut(BaseModel):
    token: str
    expires_at: str
    operator: OperatorOut


class SetupNeeded(BaseModel):
    needed: bool


class QueueOut(BaseModel):
    queue: str
    title: str
    counts: dict[str, int]
    deferred: dict[str, int]
    done_today: int
    throughput_per_hour: float
    oldest_waiting_at: str | None
    oldest_waiting_seconds: float | None
    past_due: int
    paused: bool
    paused_by: str | None
    paused_reason: str | None
    paused_at: str | None
    resume_at: str | None


class QueuesOut(BaseModel):
    at: str
    queues: list[QueueOut]


class ItemRow(BaseModel):
    id: int
    queue: str
    status: str
    reference: str
    customer_id: str | None
    priority: int
    attempts: int
    max_attempts: int
    defer_reason: str | None
    not_before: str | None
    due_at: str | None
    created_at: str
    updated_at: str


class ItemPage(BaseModel):
    items: list[ItemRow]
    next_cursor: str | None


class ErrorOut(BaseModel):
    kind: str
    code: str
    message: str
    traceback: str | None


class EventOut(BaseModel):
    id: int
    at: str
    actor: str
    from_: str | None = Field(alias="from")
    to: str | None
    reason: str
    detail: dict[str, Any]


class ArtifactOut(BaseModel):
    id: int
    filename: str
    media_type: str
    kind: str
    size: int
    sha256: str
    created_at: str


class NoteOut(BaseModel):
    at: str
    author: str
    text: str


class ResolutionOut(BaseModel):
    code: str
    title: str
    outcome: str
    with_authority: bool
    needs_note: bool


class CaseOut(BaseModel):
    id: int
    item_id: int
    queue: str
    unit: str
    reason_code: str
    note: str
    status: str
    assignee: str | None
    due_at: str | None
    resolution: str | None
    resolution_title: str | None
    resolutions: list[ResolutionOut]
    created_at: str
    updated_at: str
    notes: list[NoteOut]


class CaseView(CaseOut):
    overdue: bool


class CaseDetail(CaseView):
    item: ItemRow


class CasePage(BaseModel):
    cases: list[CaseView]
    next_cursor: str | None


class Decided(BaseModel):
    case: CaseView
    item: ItemRow


class ItemDetail(ItemRow):
    lease_owner: str | None
    lease_expires: str | None
    version: int
    payload: dict[str, Any]
    result: dict[str, Any] | None
    progress: dict[str, Any]
    error: ErrorOut | None
    events: list[EventOut]
    artifacts: list[ArtifactOut]
    cases: list[CaseOut]
    clerk_authority: dict[str, Any] | None


class ActionResult(BaseModel):
    id: int
    ok: bool
    status: str | None = None
    error: str | None = None


class ActionResults(BaseModel):
    results: list[ActionResult]


class ExceptionGroupOut(BaseModel):
    queue: str
    kind: str
    code: str
    count: int
    latest_at: str
    message: str
    item_ids: list[int]


class ExceptionsOut(BaseModel):
    groups: list[ExceptionGroupOut]


class SystemBacklogOut(BaseModel):
    system: str
    open: bool
    closed_reason: str | None
    next_opening: str | None
    next_closing: str | None
    queues: list[str]
    waiting: dict[str, int]
    waiting_total: int
    deferred: dict[str, int]
    throughput_per_hour: float | None
    projected_drained_at: str | None


class SnapshotOut(BaseModel):
    at: str
    queue: str
    status: str
    reason: str | None
    count: int


class BacklogOut(BaseModel):
    at: str
    systems: list[SystemBacklogOut]
    snapshots: list[SnapshotOut]


class AlertOut(BaseModel):
    kind: str
    at: str
    queue: str | None
    subject_id: str
    message: str


class AlertsOut(BaseModel):
    alerts: list[AlertOut]
