"""Work item states and the one transition table."""

from __future__ import annotations

from enum import StrEnum

from bots.runtime.errors import InvalidTransition


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    REJECTED = "rejected"
    HANDED_OFF = "handed_off"
    FAILED = "failed"
    DEFERRED = "deferred"
    ABANDONED = "abandoned"


class DeferReason(StrEnum):
    """Why an item waits; the backlog view separates them."""

    SERVICE_WINDOW = "service_window"
    RETRY_BACKOFF = "retry_backoff"
    POSTPONED = "postponed"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    # pending -> deferred: an operator postpones, or a paused target is known closed before a run
    Status.PENDING: frozenset({Status.RUNNING, Status.DEFERRED}),
    # running -> pending: a lease expired and was reaped
    Status.RUNNING: frozenset(
        {Status.DONE, Status.REJECTED, Status.HANDED_OFF, Status.FAILED, Status.DEFERRED, Status.PENDING}
    ),
    Status.DEFERRED: frozenset({Status.PENDING}),
    Status.FAILED: frozenset({Status.PENDING, Status.ABANDONED}),
    Status.HANDED_OFF: frozenset({Status.DONE, Status.REJECTED, Status.PENDING}),
    Status.DONE: frozenset(),
    Status.REJECTED: frozenset(),
    Status.ABANDONED: frozenset(),
}

TERMINAL: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

CASE_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.CLAIMED, CaseStatus.RESOLVED}),
    CaseStatus.CLAIMED: frozenset({CaseStatus.OPEN, CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset(),
}


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"an item cannot go from {current} to {target}")


def check_case_transition(current: CaseStatus, target: CaseStatus) -> None:
    if target not in CASE_TRANSITIONS[current]:
        raise InvalidTransition(f"a case cannot go from {current} to {target}")
