"""The event log: every change of an item, case or queue is recorded in the transaction that makes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.models import Event
from bots.runtime.store import prepared, rows
from bots.runtime.store.engine import StoreBase

SYSTEM_ACTOR = "system"

# Built once: two or three events per item, each written while SQLite's write lock is held; building
# the insert per call cost ~9 % of items/s on SQLite, together with the item's insert (see items.py).
_INSERT_EVENT = sa.insert(t.events)


def record(
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
    prepared.one_or_none(
        conn,
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


class EventStore(StoreBase):
    """Reading the event log."""

    def events(self, subject: str, subject_id: int | str) -> list[Event]:
        q = (
            sa.select(t.events)
            .where(t.events.c.subject == subject, t.events.c.subject_id == str(subject_id))
            .order_by(t.events.c.id)
        )
        with self._read() as conn:
            return [rows.event(r) for r in conn.execute(q)]

    def recent_events(self, *, queue: str | None = None, limit: int = 100) -> list[Event]:
        q = sa.select(t.events).order_by(t.events.c.id.desc()).limit(limit)
        if queue:
            q = q.where(t.events.c.queue == queue)
        with self._read() as conn:
            return [rows.event(r) for r in conn.execute(q)]


def record_many(
    conn: Connection, moves: list[tuple[int, str, str, str, str]], now: datetime, actor: str = SYSTEM_ACTOR
) -> None:
    """One insert for the events of many items: (item id, queue, from, to, reason) each."""
    if moves:
        conn.execute(
            _INSERT_EVENT,
            [
                {
                    "at": now,
                    "actor": actor,
                    "subject": "item",
                    "subject_id": str(item_id),
                    "queue": queue,
                    "from_state": str(from_state),
                    "to_state": str(to_state),
                    "reason": reason,
                    "detail": {},
                }
                for item_id, queue, from_state, to_state, reason in moves
            ],
        )
