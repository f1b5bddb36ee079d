"""The one place that owns the queries: work items, events, cases, artifacts, queue states, backlog."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from bots.runtime import schema as t
from bots.runtime.clock import Clock, SystemClock, utc
from bots.runtime.errors import IdempotencyConflict, InvalidTransition, NotFound, StaleVersion
from bots.runtime.models import (
    Artifact,
    BacklogPoint,
    Case,
    CaseNote,
    Event,
    ItemError,
    QueueState,
    WorkItem,
)
from bots.runtime.states import (
    TERMINAL,
    CaseStatus,
    DeferReason,
    Status,
    check_case_transition,
    check_transition,
)

SYSTEM_ACTOR = "system"


_INSERT_ITEM = sa.insert(t.items).returning(*t.items.c)
_INSERT_EVENT = sa.insert(t.events)


def _queue_paused(queue: sa.ColumnElement[str]) -> sa.Exists:
    return (
        sa.select(t.queue_states.c.queue)
        .where(t.queue_states.c.queue == queue, t.queue_states.c.paused.is_(True))
        .exists()
    )


def _param(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


_CLAIM_VALUES: dict[str, Any] = {
    "status": Status.RUNNING.value,
    "lease_owner": _param("p_owner", t.items.c.lease_owner),
    "lease_expires": _param("p_expires", t.items.c.lease_expires),
    "attempts": t.items.c.attempts + 1,
    "defer_reason": None,
    "not_before": None,
    "version": t.items.c.version + 1,
    "updated_at": _param("p_now", t.items.c.updated_at),
}
_RESET_ERROR_RUN = (
    sa.update(t.queue_states)
    .where(
        t.queue_states.c.queue == _param("p_queue", t.queue_states.c.queue),
        t.queue_states.c.consecutive_errors > 0,
    )
    .values(consecutive_errors=0)
)
_HELD_UPDATES: dict[tuple[tuple[str, bool], ...], sa.Update] = {}


def _held_update(values: dict[str, Any]) -> sa.Update:
    """The statement that ends a held run setting `values` (their keys; literal values become parameters,
    SQL expressions stay in the statement), built once per set of keys."""
    key = tuple(sorted((k, isinstance(v, sa.ColumnElement)) for k, v in values.items()))
    stmt = _HELD_UPDATES.get(key)
    if stmt is None:
        sets: dict[str, Any] = {
            "status": _param("p_status", t.items.c.status),
            "version": t.items.c.version + 1,
            "updated_at": _param("p_now", t.items.c.updated_at),
        }
        for name, expression in key:
            sets[name] = values[name] if expression else _param(f"p_{name}", t.items.c[name])
        stmt = (
            sa.update(t.items)
            .where(
                t.items.c.id == _param("p_item_id", t.items.c.id),
                t.items.c.status == Status.RUNNING.value,
                t.items.c.lease_owner == _param("p_owner", t.items.c.lease_owner),
            )
            .values(sets)
            .returning(*t.items.c)
        )
        _HELD_UPDATES[key] = stmt
    return stmt


# Built once, parameters given at execution: a claim is the hottest statement of all.
_CLAIM = (
    sa.update(t.items)
    .where(
        t.items.c.id == _param("p_item_id", t.items.c.id),
        t.items.c.status == Status.PENDING.value,
        sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= _param("p_now", t.items.c.not_before)),
        ~_queue_paused(t.items.c.queue),
    )
    .values(_CLAIM_VALUES)
    .returning(*t.items.c)
)


@dataclass(frozen=True)
class Upload:
    """A file that arrives with a request and is stored with its item in the same transaction."""

    filename: str
    media_type: str
    data: bytes


def make_engine(url: str) -> Engine:
    """An engine tuned for our access pattern: WAL and immediate write locks on SQLite."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Readers take no write lock; writers take it at BEGIN so two writers never deadlock on upgrade.
            readonly = conn.get_execution_options().get("portalbots_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def request_hash(payload: dict[str, Any], uploads: Sequence[Upload] = ()) -> str:
    h = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
    for up in uploads:
        h.update(up.filename.encode() + b"\0" + hashlib.sha256(up.data).digest())
    return h.hexdigest()


class Store:
    """Every read and write of the runtime's tables goes through here."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._reader = self.engine.execution_options(portalbots_readonly=True)
        self.clock: Clock = clock or SystemClock()
        self.is_postgres = self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._reader.begin() as conn:
            yield conn

    def now(self) -> datetime:
        return utc(self.clock.now())

    # ---------------------------------------------------------------- items

    def submit(
        self,
        queue: str,
        payload: dict[str, Any],
        *,
        reference: str | None = None,
        customer_id: str | None = None,
        priority: int = 0,
        due_in: timedelta | None = None,
        max_attempts: int = 5,
        uploads: Sequence[Upload] = (),
        actor: str = "intake",
    ) -> tuple[WorkItem, bool]:
        """Store a new pending item; the same reference again returns the first item (created=False)."""
        now = self.now()
        ref = reference or uuid.uuid4().hex
        digest = request_hash(payload, uploads)
        try:
            with self._write() as conn:
                row = conn.execute(
                    _INSERT_ITEM,  # parameters at execution: the compiled statement is cached
                    {
                        "queue": queue,
                        "reference": ref,
                        "request_hash": digest,
                        "customer_id": customer_id,
                        "priority": priority,
                        "status": Status.PENDING.value,
                        "due_at": now + due_in if due_in else None,
                        "attempts": 0,
                        "max_attempts": max_attempts,
                        "payload": payload,
                        "progress": {},
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    },
                ).one()
                for up in uploads:
                    self._add_artifact(conn, row.id, up.data, up.media_type, up.filename, "upload", now)
                self._event(conn, "item", row.id, queue, None, Status.PENDING, actor, "submitted", now)
            return self._item(row), True
        except IntegrityError:
            with self._read() as conn:
                existing = conn.execute(
                    sa.select(t.items).where(t.items.c.queue == queue, t.items.c.reference == ref)
                ).one_or_none()
            if existing is None:
                raise
            if existing.request_hash != digest:
                raise IdempotencyConflict(
                    f"idempotency key {ref!r} was already used for a different request (item {existing.id})"
                ) from None
            return self._item(existing), False

    def get(self, item_id: int) -> WorkItem:
        with self._read() as conn:
            return self._item(self._item_row(conn, item_id))

    def list_items(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[Status] = (),
        customer_id: str | None = None,
        reference: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkItem]:
        q = sa.select(t.items).order_by(t.items.c.id.desc()).limit(limit).offset(offset)
        if queue:
            q = q.where(t.items.c.queue == queue)
        if statuses:
            q = q.where(t.items.c.status.in_([s.value for s in statuses]))
        if customer_id:
            q = q.where(t.items.c.customer_id == customer_id)
        if reference:
            q = q.where(t.items.c.reference == reference)
        with self._read() as conn:
            return [self._item(r) for r in conn.execute(q)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Items per queue and status."""
        q = sa.select(t.items.c.queue, t.items.c.status, sa.func.count()).group_by(
            t.items.c.queue, t.items.c.status
        )
        out: dict[str, dict[str, int]] = {}
        with self._read() as conn:
            for queue, status, n in conn.execute(q):
                out.setdefault(queue, {})[status] = n
        return out

    def claim(self, item_id: int, owner: str, lease: timedelta) -> WorkItem | None:
        """Take a pending item for `owner`; None when someone else has it, it is not due (duplicate delivery)
        or its queue is paused. One statement: no read before it."""
        now = self.now()
        with self._write() as conn:
            row = conn.execute(
                _CLAIM, {"p_item_id": item_id, "p_owner": owner, "p_now": now, "p_expires": now + lease}
            ).one_or_none()
            if row is None:
                return None
            self._event(
                conn, "item", item_id, row.queue, Status.PENDING, Status.RUNNING, owner, "claimed", now
            )
        return self._item(row)

    def claim_next(self, queue: str, owner: str, lease: timedelta) -> WorkItem | None:
        """Take the most urgent due pending item of a queue (priority, then due date, then age)."""
        now = self.now()
        pick = (
            sa.select(t.items.c.id)
            .where(
                t.items.c.queue == queue,
                t.items.c.status == Status.PENDING.value,
                sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= now),
                ~_queue_paused(t.items.c.queue),
            )
            .order_by(
                t.items.c.priority.desc(),
                t.items.c.due_at.asc().nulls_last(),
                t.items.c.id.asc(),
            )
            .limit(1)
        )
        if self.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        with self._write() as conn:
            item_id = conn.execute(pick).scalar_one_or_none()
            if item_id is None:
                return None
            row = conn.execute(
                sa.update(t.items)
                .where(t.items.c.id == item_id, t.items.c.status == Status.PENDING.value)
                .values(self._claim_values(owner, lease, now))
                .returning(*t.items.c)
            ).one_or_none()
            if row is None:
                return None
            self._event(conn, "item", item_id, queue, Status.PENDING, Status.RUNNING, owner, "claimed", now)
        return self._item(row)

    @staticmethod
    def _claim_values(owner: str, lease: timedelta, now: datetime) -> dict[str, Any]:
        return {
            "status": Status.RUNNING.value,
            "lease_owner": owner,
            "lease_expires": now + lease,
            "attempts": t.items.c.attempts + 1,
            "defer_reason": None,
            "not_before": None,
            "version": t.items.c.version + 1,
            "updated_at": now,
        }

    def renew_lease(self, item_id: int, owner: str, lease: timedelta) -> bool:
        now = self.now()
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.items)
                .where(
                    t.items.c.id == item_id,
                    t.items.c.status == Status.RUNNING.value,
                    t.items.c.lease_owner == owner,
                )
                .values(lease_expires=now + lease)
            ).rowcount
        return bool(n)

    def remember(self, item_id: int, owner: str, key: str, value: Any) -> None:
        """Persist a checkpoint of a running item at once, so a retry can skip work already done."""
        with self._write() as conn:
            row = self._item_row(conn, item_id)
            if row.status != Status.RUNNING.value or row.lease_owner != owner:
                raise StaleVersion(f"item {item_id} is no longer held by {owner}")
            progress = dict(row.progress or {})
            progress[key] = value
            conn.execute(sa.update(t.items).where(t.items.c.id == item_id).values(progress=progress))

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
    ) -> WorkItem:
        """End a run held under lease by `item.lease_owner`; a run that ends done also ends the queue's
        run of system errors (the circuit breaker's count), in the same transaction."""
        if status in (Status.RUNNING, Status.HANDED_OFF):
            raise InvalidTransition(f"a run cannot end {status} here (a hand-off goes through hand_off)")
        now = self.now()
        with self._write() as conn:
            row = self._transition(
                conn,
                item.id,
                status,
                actor,
                reason,
                now,
                owner=self._holder(item),
                values=self._end_values(result, error, not_before, defer_reason, refund_attempt),
            )
            if status == Status.DONE:
                self._reset_error_run(conn, item.queue)
        return self._item(row)

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
    ) -> tuple[WorkItem, Case]:
        """Hand a running item to a clerk of `unit`: the item waits and a case opens, in one transaction."""
        now = self.now()
        with self._write() as conn:
            row = self._transition(
                conn,
                item.id,
                Status.HANDED_OFF,
                actor,
                f"handed to {unit}: {reason_code}",
                now,
                owner=self._holder(item),
                values=self._end_values(result, None, None, None, False),
            )
            case_id = conn.execute(
                sa.insert(t.cases)
                .values(
                    item_id=item.id,
                    queue=item.queue,
                    unit=unit,
                    reason_code=reason_code,
                    note=note,
                    status=CaseStatus.OPEN.value,
                    due_at=now + case_due,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.cases.c.id)
            ).scalar_one()
            self._event(
                conn,
                "case",
                case_id,
                item.queue,
                None,
                CaseStatus.OPEN,
                actor,
                note or reason_code,
                now,
                {"item_id": item.id, "unit": unit, "reason_code": reason_code},
            )
            case = self._case(conn, case_id)
        return self._item(row), case

    @staticmethod
    def _holder(item: WorkItem) -> str:
        if item.lease_owner is None:
            raise StaleVersion(f"item {item.id} is not held by a worker; only a held run can end")
        return item.lease_owner

    @staticmethod
    def _end_values(
        result: dict[str, Any] | None,
        error: ItemError | None,
        not_before: datetime | None,
        defer_reason: DeferReason | None,
        refund_attempt: bool,
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
            values["error"] = {
                "kind": error.kind,
                "code": error.code,
                "message": error.message,
                "traceback": error.traceback,
            }
        if refund_attempt:
            values["attempts"] = t.items.c.attempts - 1
        return values

    def change_status(
        self,
        item_id: int,
        status: Status,
        *,
        actor: str,
        reason: str,
        expected_version: int | None = None,
        not_before: datetime | None = None,
        defer_reason: DeferReason | None = None,
        reset_attempts: bool = False,
    ) -> WorkItem:
        """An operator's or the runtime's change of an item that nobody holds (retry, abandon, postpone)."""
        if not reason.strip():
            raise ValueError("a reason is required")
        if status == Status.RUNNING:
            raise InvalidTransition("only a worker's claim starts a run")
        now = self.now()
        values: dict[str, Any] = {
            "not_before": not_before,
            "defer_reason": defer_reason.value if defer_reason else None,
        }
        if reset_attempts:
            values["attempts"] = 0
        with self._write() as conn:
            current = self._item_row(conn, item_id)
            if current.status == Status.RUNNING.value:
                raise InvalidTransition(
                    f"item {item_id} is being run by {current.lease_owner}; it can be changed after that run"
                )
            row = self._transition(
                conn, item_id, status, actor, reason, now, expected_version=expected_version, values=values
            )
            if current.status == Status.HANDED_OFF.value:
                self._close_cases(conn, item_id, actor, f"item {status} by {actor}: {reason}", now)
        return self._item(row)

    def _close_cases(
        self, conn: Connection, item_id: int, actor: str, resolution: str, now: datetime
    ) -> None:
        """An operator decided the item over a clerk's head: its open case is resolved, not left dangling."""
        open_ids = conn.execute(
            sa.select(t.cases.c.id).where(
                t.cases.c.item_id == item_id, t.cases.c.status != CaseStatus.RESOLVED.value
            )
        ).scalars()
        for case_id in list(open_ids):
            case = self._case(conn, case_id)
            self._case_update(conn, case, CaseStatus.RESOLVED, actor, resolution, now, resolution=resolution)

    def release_due(self, limit: int = 500) -> list[WorkItem]:
        """Deferred items whose time has come go back to pending."""
        now = self.now()
        released: list[WorkItem] = []
        with self._write() as conn:
            rows = conn.execute(
                sa.select(t.items.c.id)
                .where(t.items.c.status == Status.DEFERRED.value, t.items.c.not_before <= now)
                .order_by(t.items.c.not_before)
                .limit(limit)
            ).all()
            for (item_id,) in rows:
                row = self._transition(
                    conn,
                    item_id,
                    Status.PENDING,
                    SYSTEM_ACTOR,
                    "deferral due",
                    now,
                    values={"defer_reason": None, "not_before": None},
                )
                released.append(self._item(row))
        return released

    def reap_expired(self, limit: int = 500) -> list[WorkItem]:
        """Running items whose lease ran out (a worker died) go back to pending, or fail when out of attempts."""
        now = self.now()
        reaped: list[WorkItem] = []
        with self._write() as conn:
            rows = conn.execute(
                sa.select(t.items.c.id, t.items.c.attempts, t.items.c.max_attempts, t.items.c.lease_owner)
                .where(t.items.c.status == Status.RUNNING.value, t.items.c.lease_expires < now)
                .limit(limit)
            ).all()
            for item_id, attempts, max_attempts, owner in rows:
                exhausted = attempts >= max_attempts
                error = {
                    "kind": "lease_expired",
                    "code": "lease_expired",
                    "message": f"worker {owner} stopped answering; lease expired",
                    "traceback": None,
                }
                row = self._transition(
                    conn,
                    item_id,
                    Status.FAILED if exhausted else Status.PENDING,
                    SYSTEM_ACTOR,
                    f"lease of {owner} expired" + ("; no attempts left" if exhausted else ""),
                    now,
                    values={"lease_owner": None, "lease_expires": None, "error": error},
                )
                reaped.append(self._item(row))
        return reaped

    def stale_pending(self, older_than: timedelta, limit: int = 1000) -> list[WorkItem]:
        """Pending items untouched for a while: their broker message may be lost, so they are sent again."""
        cutoff = self.now() - older_than
        q = (
            sa.select(t.items)
            .where(
                t.items.c.status == Status.PENDING.value,
                t.items.c.updated_at < cutoff,
                sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= self.now()),
            )
            .order_by(t.items.c.priority.desc(), t.items.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [self._item(r) for r in conn.execute(q)]

    def events(self, subject: str, subject_id: int | str) -> list[Event]:
        q = (
            sa.select(t.events)
            .where(t.events.c.subject == subject, t.events.c.subject_id == str(subject_id))
            .order_by(t.events.c.id)
        )
        with self._read() as conn:
            return [self._event_obj(r) for r in conn.execute(q)]

    def recent_events(self, *, queue: str | None = None, limit: int = 100) -> list[Event]:
        q = sa.select(t.events).order_by(t.events.c.id.desc()).limit(limit)
        if queue:
            q = q.where(t.events.c.queue == queue)
        with self._read() as conn:
            return [self._event_obj(r) for r in conn.execute(q)]

    # ---------------------------------------------------------------- cases

    def cases(
        self, *, units: Sequence[str] | None = None, statuses: Sequence[CaseStatus] = (), limit: int = 200
    ) -> list[Case]:
        q = sa.select(t.cases.c.id).order_by(t.cases.c.due_at, t.cases.c.id).limit(limit)
        if units is not None:
            q = q.where(t.cases.c.unit.in_(list(units)))
        if statuses:
            q = q.where(t.cases.c.status.in_([s.value for s in statuses]))
        with self._read() as conn:
            return [self._case(conn, cid) for (cid,) in conn.execute(q)]

    def get_case(self, case_id: int) -> Case:
        with self._read() as conn:
            return self._case(conn, case_id)

    def claim_case(self, case_id: int, clerk: str) -> Case:
        return self._case_change(case_id, CaseStatus.CLAIMED, clerk, "claimed", assignee=clerk)

    def release_case(self, case_id: int, clerk: str) -> Case:
        return self._case_change(case_id, CaseStatus.OPEN, clerk, "released", assignee=None)

    def add_case_note(self, case_id: int, author: str, text: str) -> Case:
        if not text.strip():
            raise ValueError("a note needs text")
        now = self.now()
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == CaseStatus.RESOLVED:
                raise InvalidTransition(f"case {case_id} is resolved")
            conn.execute(sa.insert(t.case_notes).values(case_id=case_id, at=now, author=author, text=text))
            conn.execute(sa.update(t.cases).where(t.cases.c.id == case_id).values(updated_at=now))
            self._event(
                conn, "case", case_id, case.queue, case.status, case.status, author, "note added", now
            )
            return self._case(conn, case_id)

    def resolve_case(
        self, case_id: int, clerk: str, decision: Status, resolution: str
    ) -> tuple[Case, WorkItem]:
        """A clerk decides: the item is done, rejected, or goes back to the bot (pending)."""
        if decision not in (Status.DONE, Status.REJECTED, Status.PENDING):
            raise InvalidTransition(f"a clerk cannot decide {decision}")
        if not resolution.strip():
            raise ValueError("a resolution needs text")
        now = self.now()
        with self._write() as conn:
            case = self._case(conn, case_id)
            if case.status == CaseStatus.CLAIMED and case.assignee != clerk:
                raise InvalidTransition(f"case {case_id} is claimed by {case.assignee}")
            if self._item_row(conn, case.item_id).status != Status.HANDED_OFF.value:
                raise InvalidTransition(f"item {case.item_id} no longer waits for case {case_id}")
            self._case_update(
                conn,
                case,
                CaseStatus.RESOLVED,
                clerk,
                f"resolved: {decision}",
                now,
                assignee=clerk,
                resolution=resolution,
            )
            values: dict[str, Any] = {}
            if decision == Status.REJECTED:
                values["error"] = {
                    "kind": "reject",
                    "code": "clerk_rejected",
                    "message": resolution,
                    "traceback": None,
                }
            if decision == Status.PENDING:
                values["attempts"] = 0
            row = self._transition(
                conn, case.item_id, decision, clerk, f"case {case_id}: {resolution}", now, values=values
            )
            return self._case(conn, case_id), self._item(row)

    def _case_change(self, case_id: int, to: CaseStatus, actor: str, reason: str, **values: Any) -> Case:
        now = self.now()
        with self._write() as conn:
            case = self._case(conn, case_id)
            if to == CaseStatus.CLAIMED and case.status == CaseStatus.CLAIMED and case.assignee == actor:
                return case
            self._case_update(conn, case, to, actor, reason, now, **values)
            return self._case(conn, case_id)

    def _case_update(
        self,
        conn: Connection,
        case: Case,
        to: CaseStatus,
        actor: str,
        reason: str,
        now: datetime,
        **values: Any,
    ) -> None:
        check_case_transition(case.status, to)
        n = conn.execute(
            sa.update(t.cases)
            .where(t.cases.c.id == case.id, t.cases.c.version == case.version)
            .values(status=to.value, version=case.version + 1, updated_at=now, **values)
        ).rowcount
        if n != 1:
            raise StaleVersion(f"case {case.id} was changed by someone else")
        self._event(conn, "case", case.id, case.queue, case.status, to, actor, reason, now)

    # ---------------------------------------------------------------- artifacts

    def add_artifact(self, item_id: int, data: bytes, media_type: str, filename: str, kind: str) -> Artifact:
        with self._write() as conn:
            return self._add_artifact(conn, item_id, data, media_type, filename, kind, self.now())

    def _add_artifact(
        self,
        conn: Connection,
        item_id: int,
        data: bytes,
        media_type: str,
        filename: str,
        kind: str,
        now: datetime,
    ) -> Artifact:
        digest = hashlib.sha256(data).hexdigest()
        exists = conn.execute(sa.select(t.blobs.c.sha256).where(t.blobs.c.sha256 == digest)).first()
        if exists is None:
            conn.execute(sa.insert(t.blobs).values(sha256=digest, size=len(data), data=data))
        row = conn.execute(
            sa.select(t.artifacts).where(
                t.artifacts.c.item_id == item_id,
                t.artifacts.c.sha256 == digest,
                t.artifacts.c.filename == filename,
            )
        ).one_or_none()
        if row is None:
            art_id = conn.execute(
                sa.insert(t.artifacts)
                .values(
                    item_id=item_id,
                    sha256=digest,
                    media_type=media_type,
                    filename=filename,
                    kind=kind,
                    created_at=now,
                )
                .returning(t.artifacts.c.id)
            ).scalar_one()
            row = conn.execute(sa.select(t.artifacts).where(t.artifacts.c.id == art_id)).one()
        return self._artifact(row, len(data))

    def artifacts(self, item_id: int) -> list[Artifact]:
        q = (
            sa.select(t.artifacts, t.blobs.c.size)
            .join(t.blobs, t.blobs.c.sha256 == t.artifacts.c.sha256)
            .where(t.artifacts.c.item_id == item_id)
            .order_by(t.artifacts.c.id)
        )
        with self._read() as conn:
            return [self._artifact(r, r.size) for r in conn.execute(q)]

    def artifact_bytes(self, artifact_id: int) -> tuple[Artifact, bytes]:
        q = (
            sa.select(t.artifacts, t.blobs.c.size, t.blobs.c.data)
            .join(t.blobs, t.blobs.c.sha256 == t.artifacts.c.sha256)
            .where(t.artifacts.c.id == artifact_id)
        )
        with self._read() as conn:
            row = conn.execute(q).one_or_none()
        if row is None:
            raise NotFound(f"no artifact {artifact_id}")
        return self._artifact(row, row.size), bytes(row.data)

    # ---------------------------------------------------------------- queues

    def queue_state(self, queue: str) -> QueueState:
        with self._read() as conn:
            row = conn.execute(sa.select(t.queue_states).where(t.queue_states.c.queue == queue)).one_or_none()
        if row is None:
            return QueueState(queue, False, None, None, None, 0)
        return QueueState(
            row.queue,
            bool(row.paused),
            row.paused_reason,
            utc(row.paused_at) if row.paused_at else None,
            row.paused_by,
            row.consecutive_errors,
        )

    def _ensure_queue_row(self, conn: Connection, queue: str) -> None:
        exists = conn.execute(
            sa.select(t.queue_states.c.queue).where(t.queue_states.c.queue == queue)
        ).first()
        if exists is None:
            conn.execute(sa.insert(t.queue_states).values(queue=queue, paused=False, consecutive_errors=0))

    def record_system_error(self, queue: str) -> int:
        """Count one more system error in a row on `queue`; returns the run length."""
        with self._write() as conn:
            self._ensure_queue_row(conn, queue)
            return int(
                conn.execute(
                    sa.update(t.queue_states)
                    .where(t.queue_states.c.queue == queue)
                    .values(consecutive_errors=t.queue_states.c.consecutive_errors + 1)
                    .returning(t.queue_states.c.consecutive_errors)
                ).scalar_one()
            )

    @staticmethod
    def _reset_error_run(conn: Connection, queue: str) -> None:
        conn.execute(_RESET_ERROR_RUN, {"p_queue": queue})

    def pause_queue(self, queue: str, actor: str, reason: str) -> bool:
        """Pause a queue; False when it was paused already."""
        now = self.now()
        with self._write() as conn:
            self._ensure_queue_row(conn, queue)
            n = conn.execute(
                sa.update(t.queue_states)
                .where(t.queue_states.c.queue == queue, t.queue_states.c.paused == sa.false())
                .values(paused=True, paused_reason=reason, paused_at=now, paused_by=actor)
            ).rowcount
            if n:
                self._event(conn, "queue", queue, queue, "running", "paused", actor, reason, now)
        return bool(n)

    def resume_queue(self, queue: str, actor: str, reason: str) -> bool:
        now = self.now()
        with self._write() as conn:
            self._ensure_queue_row(conn, queue)
            n = conn.execute(
                sa.update(t.queue_states)
                .where(t.queue_states.c.queue == queue, t.queue_states.c.paused == sa.true())
                .values(
                    paused=False, paused_reason=None, paused_at=None, paused_by=None, consecutive_errors=0
                )
            ).rowcount
            if n:
                self._event(conn, "queue", queue, queue, "paused", "running", actor, reason, now)
        return bool(n)

    # ---------------------------------------------------------------- backlog

    def record_backlog(self) -> int:
        """Snapshot the open work per queue, state and deferral reason, for the supervisor's chart."""
        now = self.now()
        open_states = [s.value for s in Status if s not in TERMINAL]
        q = (
            sa.select(t.items.c.queue, t.items.c.status, t.items.c.defer_reason, sa.func.count())
            .where(t.items.c.status.in_(open_states))
            .group_by(t.items.c.queue, t.items.c.status, t.items.c.defer_reason)
        )
        with self._write() as conn:
            rows = [
                {"at": now, "queue": queue, "status": status, "reason": reason, "count": n}
                for queue, status, reason, n in conn.execute(q)
            ]
            if rows:
                conn.execute(sa.insert(t.backlog_snapshots), rows)
        return len(rows)

    def backlog(self, since: datetime, queue: str | None = None) -> list[BacklogPoint]:
        q = (
            sa.select(t.backlog_snapshots)
            .where(t.backlog_snapshots.c.at >= since)
            .order_by(t.backlog_snapshots.c.at)
        )
        if queue:
            q = q.where(t.backlog_snapshots.c.queue == queue)
        with self._read() as conn:
            return [
                BacklogPoint(utc(r.at), r.queue, r.status, r.reason, r._mapping["count"])
                for r in conn.execute(q)
            ]

    # ---------------------------------------------------------------- internals

    def _transition(
        self,
        conn: Connection,
        item_id: int,
        to: Status,
        actor: str,
        reason: str,
        now: datetime,
        *,
        owner: str | None = None,
        expected_version: int | None = None,
        values: dict[str, Any] | None = None,
    ) -> Row[Any]:
        """The only way an item changes state: checked against the table, versioned, and logged.
        With `owner`, a worker ends its own run (see _held_transition); else nobody may hold the item."""
        if owner is not None:
            return self._held_transition(conn, item_id, to, actor, reason, now, owner, values or {})
        current = self._item_row(conn, item_id)
        check_transition(Status(current.status), to)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(f"item {item_id} is at version {current.version}, not {expected_version}")
        row = conn.execute(
            sa.update(t.items)
            .where(t.items.c.id == item_id, t.items.c.version == current.version)
            .values(status=to.value, version=current.version + 1, updated_at=now, **(values or {}))
            .returning(*t.items.c)
        ).one_or_none()
        if row is None:
            raise StaleVersion(f"item {item_id} was changed by someone else (lease lost or newer version)")
        self._event(conn, "item", item_id, current.queue, Status(current.status), to, actor, reason, now)
        return row

    def _held_transition(
        self,
        conn: Connection,
        item_id: int,
        to: Status,
        actor: str,
        reason: str,
        now: datetime,
        owner: str,
        values: dict[str, Any],
    ) -> Row[Any]:
        """A worker ends its own run: one conditional update, no read before it (the hot path)."""
        check_transition(Status.RUNNING, to)
        params = {f"p_{k}": v for k, v in values.items() if not isinstance(v, sa.ColumnElement)}
        params.update(p_item_id=item_id, p_owner=owner, p_status=to.value, p_now=now)
        row = conn.execute(_held_update(values), params).one_or_none()
        if row is None:
            self._item_row(conn, item_id)  # NotFound for an unknown item
            raise StaleVersion(f"item {item_id} is no longer held by {owner} (lease expired and was reaped)")
        self._event(conn, "item", item_id, row.queue, Status.RUNNING, to, actor, reason, now)
        return row

    def _event(
        self,
        conn: Connection,
        subject: str,
        subject_id: int | str,
        queue: str | None,
        from_state: str | None,
        to_state: str | None,
        actor: str,
        reason: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            _INSERT_EVENT,
            {
                "at": now,
                "actor": actor,
                "subject": subject,
                "subject_id": str(subject_id),
                "queue": queue,
                "from_state": str(from_state) if from_state is not None else None,
                "to_state": str(to_state) if to_state is not None else None,
                "reason": reason,
                "detail": detail or {},
            },
        )

    @staticmethod
    def _item_row(conn: Connection, item_id: int) -> Row[Any]:
        row = conn.execute(sa.select(t.items).where(t.items.c.id == item_id)).one_or_none()
        if row is None:
            raise NotFound(f"no work item {item_id}")
        return row

    @staticmethod
    def _item(row: Row[Any]) -> WorkItem:
        err = row.error
        return WorkItem(
            id=row.id,
            queue=row.queue,
            reference=row.reference,
            customer_id=row.customer_id,
            priority=row.priority,
            status=Status(row.status),
            defer_reason=DeferReason(row.defer_reason) if row.defer_reason else None,
            not_before=utc(row.not_before) if row.not_before else None,
            due_at=utc(row.due_at) if row.due_at else None,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            lease_owner=row.lease_owner,
            lease_expires=utc(row.lease_expires) if row.lease_expires else None,
            payload=row.payload,
            result=row.result,
            error=ItemError(err["kind"], err["code"], err["message"], err.get("traceback")) if err else None,
            progress=row.progress or {},
            version=row.version,
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
        )

    @staticmethod
    def _event_obj(row: Row[Any]) -> Event:
        return Event(
            row.id,
            utc(row.at),
            row.actor,
            row.subject,
            row.subject_id,
            row.queue,
            row.from_state,
            row.to_state,
            row.reason,
            row.detail or {},
        )

    @staticmethod
    def _case(conn: Connection, case_id: int) -> Case:
        row = conn.execute(sa.select(t.cases).where(t.cases.c.id == case_id)).one_or_none()
        if row is None:
            raise NotFound(f"no case {case_id}")
        notes = tuple(
            CaseNote(utc(n.at), n.author, n.text)
            for n in conn.execute(
                sa.select(t.case_notes).where(t.case_notes.c.case_id == case_id).order_by(t.case_notes.c.id)
            )
        )
        return Case(
            id=row.id,
            item_id=row.item_id,
            queue=row.queue,
            unit=row.unit,
            reason_code=row.reason_code,
            note=row.note,
            status=CaseStatus(row.status),
            assignee=row.assignee,
            due_at=utc(row.due_at) if row.due_at else None,
            resolution=row.resolution,
            version=row.version,
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
            notes=notes,
        )

    @staticmethod
    def _artifact(row: Row[Any], size: int) -> Artifact:
        return Artifact(
            row.id, row.item_id, row.sha256, row.media_type, row.filename, row.kind, size, utc(row.created_at)
        )
