"""A worker's run of an item: claimed under a lease, renewed, checkpointed, and ended by its holder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa

from bots.runtime import schema as t
from bots.runtime.errors import InvalidTransition, StaleVersion
from bots.runtime.models import AUTHORITY_ENDS, AUTHORITY_KEY, Artifact, Case, ItemError, Mail, WorkItem
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import artifacts, cases, events, logged, outbox, queues, rows, transitions
from bots.runtime.store.artifacts import NewFile
from bots.runtime.store.engine import StoreBase


@cache
def _claim(keys: tuple[str, ...]) -> sa.Update:
    """The claim, setting the columns `keys` besides the counters. Built once: SQLAlchemy caches the compiled
    SQL, not the building of the statement, which cost 0.4 ms of CPU per item (the store's submit + claim +
    finish take 0.8 ms in all)."""
    return (
        sa.update(t.items)
        .where(
            t.items.c.id == sa.bindparam("p_item_id"),
            t.items.c.status == Status.PENDING.value,
            sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= sa.bindparam("p_now")),
            sa.or_(~queues.paused(t.items.c.queue), t.items.c.breaker_trial == sa.true()),
        )
        .values(attempts=t.items.c.attempts + 1, version=t.items.c.version + 1, **logged.values(keys))
        .returning(t.items)
    )


def _claimed(owner: str, lease: timedelta, now: datetime) -> dict[str, Any]:
    """The columns a claim sets besides the counters."""
    return {
        "status": Status.RUNNING.value,
        "lease_owner": owner,
        "lease_expires": now + lease,
        "defer_reason": None,
        "not_before": None,
        "updated_at": now,
    }


def _held_by(item_id: int, owner: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The item is running under `owner`'s lease."""
    return (
        t.items.c.id == item_id,
        t.items.c.status == Status.RUNNING.value,
        t.items.c.lease_owner == owner,
    )


def _holder(item: WorkItem) -> str:
    if item.lease_owner is None:
        raise StaleVersion(f"item {item.id} is not held by a worker; only a held run can end")
    return item.lease_owner


def _end_values(
    item: WorkItem,
    status: Status,
    result: dict[str, Any] | None,
    error: ItemError | None,
    not_before: datetime | None,
    defer_reason: DeferReason | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_expires": None,
        "not_before": not_before,
        "defer_reason": defer_reason.value if defer_reason else None,
    }
    if result is not None:
        values["result"] = result
    if error is not None:
        values["error"] = _error_json(error)
    elif status in (Status.DONE, Status.HANDED_OFF) and item.error is not None:
        values["error"] = None  # an earlier attempt's error is history (its event keeps it), not the item's
    if item.breaker_trial:
        values["breaker_trial"] = False
    if status == Status.PENDING:
        values["redispatch_at"] = None  # given back (a worker stopping): housekeeping sends it at once
    if status in AUTHORITY_ENDS and AUTHORITY_KEY in item.progress:
        # A clerk's authority is for the run that carries out their decision: it ends with that run, in
        # the same transaction (a later hand-off needs a new decision). The holder's copy of the
        # checkpoints is the stored one: only the holder writes them while it holds the lease.
        values["progress"] = {k: v for k, v in item.progress.items() if k != AUTHORITY_KEY}
    return values


def _end_detail(item: WorkItem, status: Status, error: ItemError | None) -> dict[str, Any] | None:
    """What the event of the run's end keeps: its error, and the clerk's authority it ended under."""
    detail = _error_detail(error)
    if status in AUTHORITY_ENDS and AUTHORITY_KEY in item.progress:
        detail = {**(detail or {}), AUTHORITY_KEY: item.progress[AUTHORITY_KEY]}
    return detail


def _error_json(error: ItemError) -> dict[str, Any]:
    return {"kind": error.kind, "code": error.code, "message": error.message, "traceback": error.traceback}


def _error_detail(error: ItemError | None) -> dict[str, Any] | None:
    """What the event of a failed run keeps of its error, for the item's history (no traceback)."""
    return (
        None
        if error is None
        else {"error": {"kind": error.kind, "code": error.code, "message": error.message}}
    )


class RunStore(StoreBase):
    """The worker's side: claim, lease, checkpoints, and the end of a run."""

    def claim(self, item_id: int, owner: str, lease: timedelta) -> WorkItem | None:
        """Take a pending item for `owner`; None when someone else has it, it is not due (duplicate delivery)
        or its queue is paused. One statement, no read before it, and its event (on PostgreSQL in the same
        statement, logged.py)."""
        now = self.now()
        columns = _claimed(owner, lease, now)
        with self._one_statement() as conn:
            row = logged.execute(
                conn,
                _claim(tuple(sorted(columns))),
                {**logged.bound(columns), "p_item_id": item_id, "p_now": now},
                logged.ItemEvent(Status.PENDING, Status.RUNNING, owner, "claimed", now),
            )
        return rows.item(row) if row is not None else None

    def claim_next(self, queue: str, owner: str, lease: timedelta) -> WorkItem | None:
        """Take the most urgent due pending item of a queue (priority, then due date, then age)."""
        now = self.now()
        pick = queues.most_urgent_due(queue, now).where(~queues.paused(t.items.c.queue))
        if self.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        with self._write() as conn:
            item_id = conn.execute(pick).scalar_one_or_none()
            if item_id is None:
                return None
            row = conn.execute(
                sa.update(t.items)
                .where(t.items.c.id == item_id, t.items.c.status == Status.PENDING.value)
                .values(
                    attempts=t.items.c.attempts + 1,
                    version=t.items.c.version + 1,
                    **_claimed(owner, lease, now),
                )
                .returning(t.items)
            ).one_or_none()
            if row is None:
                return None
            events.record(conn, "item", item_id, queue, Status.PENDING, Status.RUNNING, owner, "claimed", now)
        return rows.item(row)

    def renew_lease(self, item_id: int, owner: str, lease: timedelta) -> bool:
        now = self.now()
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.items).where(*_held_by(item_id, owner)).values(lease_expires=now + lease)
            ).rowcount
        return bool(n)

    def remember(
        self,
        item_id: int,
        owner: str,
        key: str,
        value: Any,
        files: Sequence[NewFile] = (),
    ) -> list[Artifact]:
        """Persist a checkpoint of a running item at once, so a retry can skip work already done; `files` are
        stored as its artifacts in the same transaction, and `value` may be a function of them."""
        now = self.now()
        with self._write() as conn:
            row = transitions.item_row(conn, item_id)
            if row.status != Status.RUNNING.value or row.lease_owner != owner:
                raise StaleVersion(f"item {item_id} is no longer held by {owner}")
            stored = [
                artifacts.add(conn, item_id, f.data, f.media_type, f.filename, f.kind, now) for f in files
            ]
            progress = dict(row.progress or {})
            progress[key] = value(stored) if callable(value) else value
            # still held when written: a lease reaped since the read must not get a stale copy back
            # (on PostgreSQL the read takes no lock)
            n = conn.execute(
                sa.update(t.items).where(*_held_by(item_id, owner)).values(progress=progress)
            ).rowcount
            if n != 1:
                raise StaleVersion(f"item {item_id} is no longer held by {owner}")
        return stored

    def finish(
        self,
        item: WorkItem,
        status: Status,
        *,
        actor: str,
        reason: str,
        result: dict[str, Any] | None = None,
        error: ItemError | None = None,
        not_before: datetime | None = None,
        defer_reason: DeferReason | None = None,
        refund_attempt: bool = False,
        notice: Mail | None = None,
    ) -> WorkItem:
        """End a run held under lease by `item.lease_owner`; a run that ends done also ends the queue's
        run of system errors (the circuit breaker's count), and `notice` goes to the outbox, in the same
        transaction."""
        if status in (Status.RUNNING, Status.HANDED_OFF):
            raise InvalidTransition(f"a run cannot end {status} here (a hand-off goes through hand_off)")
        now = self.now()
        with self._write() if notice is not None else self._one_statement() as conn:
            row = transitions.held_transition(
                conn,
                item.id,
                status,
                actor,
                reason,
                now,
                _holder(item),
                _end_values(item, status, result, error, not_before, defer_reason),
                refund_attempt=refund_attempt,
                detail=_end_detail(item, status, error),
                reset_error_run=status == Status.DONE,
            )
            if notice is not None:
                outbox.add(conn, notice, now)
        return rows.item(row)

    def hand_off(
        self,
        item: WorkItem,
        *,
        unit: str,
        reason_code: str,
        note: str,
        case_due: timedelta,
        actor: str,
        result: dict[str, Any] | None = None,
        notice: Mail | None = None,
    ) -> tuple[WorkItem, Case]:
        """Hand a running item to a clerk of `unit`: the item waits, a case opens and `notice` goes to the
        outbox, in one transaction."""
        now = self.now()
        with self._write() as conn:
            row = transitions.held_transition(
                conn,
                item.id,
                Status.HANDED_OFF,
                actor,
                f"handed to {unit}: {reason_code}",
                now,
                _holder(item),
                _end_values(item, Status.HANDED_OFF, result, None, None, None),
                detail=_end_detail(item, Status.HANDED_OFF, None),
            )
            case = cases.open_case(conn, item, unit, reason_code, note, now + case_due, actor, now)
            if notice is not None:
                outbox.add(conn, notice, now)
        return rows.item(row), case
