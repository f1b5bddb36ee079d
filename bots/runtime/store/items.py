"""Work items: submitted once per idempotency key, listed, and changed by operators and maintenance."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bots.runtime import schema as t
from bots.runtime.clock import utc
from bots.runtime.errors import IdempotencyConflict, InvalidTransition
from bots.runtime.models import WorkItem
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import artifacts, cases, dispatching, logged, rows, transitions
from bots.runtime.store.artifacts import Upload
from bots.runtime.store.engine import StoreBase


@cache
def _insert_item(keys: tuple[str, ...]) -> sa.Insert:
    """The insert of an item setting the columns `keys`, built once (like the event insert, events.py: built
    per call, the two cost ~9 % of items/s on SQLite)."""
    return sa.insert(t.items).values(logged.values(keys)).returning(t.items)


@dataclass(frozen=True)
class ItemFilter:
    """Which items an operator's list shows; `units`: only items with a case in one of these units."""

    queue: str | None = None
    statuses: tuple[Status, ...] = ()
    customer_id: str | None = None
    reference: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    error_kind: str | None = None
    error_code: str | None = None
    units: tuple[str, ...] | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        c = t.items.c
        where: list[sa.ColumnElement[bool]] = []
        if self.queue:
            where.append(c.queue == self.queue)
        if self.statuses:
            where.append(c.status.in_([s.value for s in self.statuses]))
        if self.customer_id:
            where.append(c.customer_id == self.customer_id)
        if self.reference:
            where.append(c.reference == self.reference)
        # in UTC, as stored (SQLite compares the text of the instant)
        if self.created_from is not None:
            where.append(c.created_at >= utc(self.created_from))
        if self.created_to is not None:
            where.append(c.created_at < utc(self.created_to))
        if self.error_kind:
            where.append(c.error["kind"].as_string() == self.error_kind)
        if self.error_code:
            where.append(c.error["code"].as_string() == self.error_code)
        if self.units is not None:
            where.append(
                sa.select(t.cases.c.id)
                .where(t.cases.c.item_id == c.id, t.cases.c.unit.in_(list(self.units)))
                .exists()
            )
        return where


def request_hash(payload: dict[str, Any], uploads: Sequence[Upload] = ()) -> str:
    h = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
    for up in uploads:
        h.update(up.filename.encode() + b"\0" + hashlib.sha256(up.data).digest())
    return h.hexdigest()


class ItemStore(StoreBase):
    """Submitting and reading items, and the changes of items nobody holds."""

    def submit(
        self,
        queue: str,
        payload: dict[str, Any],
        *,
        reference: str | None = None,
        customer_id: str | None = None,
        priority: int = 0,
        due_in: timedelta | None = None,
        due_at: datetime | None = None,
        max_attempts: int = 5,
        uploads: Sequence[Upload] = (),
        actor: str = "intake",
    ) -> tuple[WorkItem, bool]:
        """Store a new pending item; the same reference again returns the first item (created=False)."""
        now = self.now()
        ref = reference or uuid.uuid4().hex
        digest = request_hash(payload, uploads)
        columns = {
            "queue": queue,
            "reference": ref,
            "request_hash": digest,
            "customer_id": customer_id,
            "priority": priority,
            "status": Status.PENDING.value,
            "due_at": due_at or (now + due_in if due_in else None),
            "dispatches": 1,  # the caller sends it now; if that is lost, housekeeping does
            "redispatch_at": now + dispatching.REDISPATCH_AFTER,
            "attempts": 0,
            "max_attempts": max_attempts,
            "payload": payload,
            "progress": {},
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        event = logged.ItemEvent(None, Status.PENDING, actor, "submitted", now)
        try:
            # without uploads one statement (on PostgreSQL with its event, logged.py)
            with self._write() if uploads else self._one_statement() as conn:
                row = logged.execute(conn, _insert_item(tuple(sorted(columns))), logged.bound(columns), event)
                assert row is not None  # an insert returns its row
                for up in uploads:
                    artifacts.add(conn, row.id, up.data, up.media_type, up.filename, "upload", now)
            return rows.item(row), True
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
            return rows.item(existing), False

    def get(self, item_id: int) -> WorkItem:
        with self._read() as conn:
            return rows.item(transitions.item_row(conn, item_id))

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
            return [rows.item(r) for r in conn.execute(q)]

    def item_page(
        self, matching: ItemFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[WorkItem]:
        """Newest first, the `limit` items that match below id `before_id`: a keyset page (an index walk
        from the cursor on, however deep the page), never an OFFSET."""
        q = sa.select(t.items).where(*matching.where()).order_by(t.items.c.id.desc()).limit(limit)
        if before_id is not None:
            q = q.where(t.items.c.id < before_id)
        with self._read() as conn:
            return [rows.item(r) for r in conn.execute(q)]

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
        if status == Status.PENDING:
            values["redispatch_at"] = now  # housekeeping sends it at its next round
        with self._write() as conn:
            current = transitions.item_row(conn, item_id)
            if current.status == Status.RUNNING.value:
                raise InvalidTransition(
                    f"item {item_id} is being run by {current.lease_owner}; it can be changed after that run"
                )
            row = transitions.transition(
                conn, item_id, status, actor, reason, now, expected_version=expected_version, values=values
            )
            if current.status == Status.HANDED_OFF.value:
                cases.close_for_item(conn, item_id, actor, f"item {status} by {actor}: {reason}", now)
        return rows.item(row)
