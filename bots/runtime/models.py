"""Frozen value objects the store hands out; nobody else sees a database row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bots.runtime.states import CaseStatus, DeferReason, Status


@dataclass(frozen=True)
class ItemError:
    kind: str  # "system" | "reject" | "lease_expired" | "unavailable"
    code: str
    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class WorkItem:
    id: int
    queue: str
    reference: str
    customer_id: str | None
    priority: int
    status: Status
    defer_reason: DeferReason | None
    not_before: datetime | None
    due_at: datetime | None
    attempts: int
    max_attempts: int
    lease_owner: str | None
    lease_expires: datetime | None
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: ItemError | None
    progress: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    breaker_trial: bool = False  # let through its paused queue by the circuit breaker, to test the cause
    dispatches: int = 0  # how often "run item X" was sent


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    actor: str
    subject: str  # "item" | "case" | "queue"
    subject_id: str
    queue: str | None
    from_state: str | None
    to_state: str | None
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseNote:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class Case:
    id: int
    item_id: int
    queue: str
    unit: str
    reason_code: str
    note: str
    status: CaseStatus
    assignee: str | None
    due_at: datetime | None
    resolution: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    notes: tuple[CaseNote, ...] = ()


class ResolutionOutcome(StrEnum):
    """What a clerk's resolution does with the item that waits for the case."""

    DONE = "done"  # the clerk did it by hand
    REJECTED = "rejected"  # refused; the clerk's note is the customer's message
    RERUN = "rerun"  # back to the bot (pending, attempts reset)


@dataclass(frozen=True)
class Resolution:
    """A decision a bot offers the clerks of its cases (`Bot.resolutions`); the console shows `title`."""

    code: str  # stable id, recorded on the case: "apply_anyway"
    title: str  # German, for the console: "Trotzdem ausführen"
    outcome: ResolutionOutcome
    with_authority: bool = False  # a rerun that carries the clerk's authority (ctx.clerk_authority)
    needs_note: bool = False

    @property
    def status(self) -> Status:
        """The state the item goes to."""
        return _OUTCOME_STATUS[self.outcome]


_OUTCOME_STATUS = {
    ResolutionOutcome.DONE: Status.DONE,
    ResolutionOutcome.REJECTED: Status.REJECTED,
    ResolutionOutcome.RERUN: Status.PENDING,
}

# The checkpoint key of an item's clerk authority (reserved: a bot never remembers under it).
AUTHORITY_KEY = "clerk_authority"
# The ends of a run that end a clerk's authority with it; a deferral, a lost lease or a stopped worker do
# not: the next run still carries out the same decision.
AUTHORITY_ENDS = frozenset({Status.DONE, Status.REJECTED, Status.HANDED_OFF, Status.FAILED})


@dataclass(frozen=True)
class ClerkAuthority:
    """A clerk's decision that the item's run may do what the bot alone may not (`ctx.clerk_authority`)."""

    clerk: str
    case_id: int
    resolution: str  # the resolution's code
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "clerk": self.clerk,
            "case_id": self.case_id,
            "resolution": self.resolution,
            "at": self.at.isoformat(),
        }

    @classmethod
    def of(cls, progress: Mapping[str, Any]) -> ClerkAuthority | None:
        """The authority an item's checkpoints carry, if any."""
        raw = progress.get(AUTHORITY_KEY)
        if not isinstance(raw, Mapping):
            return None
        return cls(
            str(raw["clerk"]), int(raw["case_id"]), str(raw["resolution"]), datetime.fromisoformat(raw["at"])
        )


@dataclass(frozen=True)
class Artifact:
    id: int
    item_id: int
    sha256: str
    media_type: str
    filename: str
    kind: str
    size: int
    created_at: datetime


@dataclass(frozen=True)
class QueueState:
    queue: str
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None
    paused_by: str | None
    consecutive_errors: int
    resume_at: datetime | None = None  # the circuit breaker lets a trial item through from then on
    cooldown_seconds: int | None = None  # the breaker's current cool-down (it grows while trials fail)


@dataclass(frozen=True)
class Mail:
    """A message the runtime sends to people (supervisors' alerts), kept in the outbox until delivered."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class OutboxMail:
    id: int
    message_id: str
    mail: Mail
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class BacklogPoint:
    at: datetime
    queue: str
    status: str
    reason: str | None
    count: int


class Role(StrEnum):
    """What an operator may do: a supervisor everything, a clerk the cases of their units."""

    SUPERVISOR = "supervisor"
    CLERK = "clerk"


@dataclass(frozen=True)
class Operator:
    """A person who signs in to the operator API (the console)."""

    name: str
    role: Role
    units: tuple[str, ...] = ()  # a clerk's business units, e.g. ("Kranken",); a supervisor sees all
    disabled: bool = False

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    def may_see_unit(self, unit: str) -> bool:
        return self.is_supervisor or unit in self.units

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "units": list(self.units)}


@dataclass(frozen=True)
class OperatorAccount:
    """An operator with what signing in needs: the password's hash and the count of failures in a row."""

    operator: Operator
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
