"""When items are sent to a worker: once when they become pending, again only if they are still pending
after a visibility bound that doubles with each resend. Housekeeping's side: releasing due deferrals at
once and in order, reaping expired leases, and resending what nobody took."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.models import AUTHORITY_KEY, WorkItem
from bots.runtime.states import Status
from bots.runtime.store import events, rows
from bots.runtime.store.engine import StoreBase
from bots.runtime.store.events import SYSTEM_ACTOR

REDISPATCH_AFTER = timedelta(seconds=60)  # a message not taken by then may be lost: send it again
REDISPATCH_MAX = timedelta(hours=1)


def redispatch_delay(dispatches: int) -> timedelta:
    """How long after its `dispatches`-th sending an item still pending is sent again."""
    return min(REDISPATCH_MAX, REDISPATCH_AFTER * (1 << min(max(dispatches - 1, 0), 16)))


def sent_again(now: datetime) -> dict[str, Any]:
    """The columns of an item that becomes pending and is sent now (by the caller)."""
    return {"dispatches": t.items.c.dispatches + 1, "redispatch_at": now + REDISPATCH_AFTER}


def _urgent(items: list[WorkItem]) -> list[WorkItem]:
    """Priority first, then the due date, then age: the order workers should take them in."""
    return sorted(items, key=lambda i: (-i.priority, i.due_at is None, i.due_at or i.created_at, i.id))


def _becoming_pending(
    conn: Connection, where: sa.ColumnElement[bool], values: dict[str, Any]
) -> list[WorkItem]:
    """One statement for a whole batch of items that become pending (or fail), with their events."""
    return [
        rows.item(r) for r in conn.execute(sa.update(t.items).where(where).values(values).returning(t.items))
    ]


class DispatchStore(StoreBase):
    """Housekeeping's changes of items, each round in few statements however many items it concerns."""

    def release_due(self, limit: int = 10_000) -> list[WorkItem]:
        """Deferred items whose time has come go back to pending, all at once, most urgent first."""
        now = self.now()
        with self._write() as conn:
            due = (
                sa.select(t.items.c.id)
                .where(t.state_is(t.items.c.status, Status.DEFERRED), t.items.c.not_before <= now)
                .order_by(t.items.c.not_before, t.items.c.id)
                .limit(limit)
            )
            released = _becoming_pending(
                conn,
                t.items.c.id.in_(due.scalar_subquery()),
                {
                    "status": Status.PENDING.value,
                    "defer_reason": None,
                    "not_before": None,
                    "version": t.items.c.version + 1,
                    "updated_at": now,
                    **sent_again(now),
                },
            )
            events.record_many(
                conn,
                [(i.id, i.queue, Status.DEFERRED, Status.PENDING, "deferral due") for i in released],
                now,
            )
        return _urgent(released)

    def reap_expired(self, limit: int = 500) -> list[WorkItem]:
        """Running items whose lease ran out (a worker died) go back to pending, or fail when out of attempts."""
        now = self.now()
        reaped: list[WorkItem] = []
        with self._write() as conn:
            expired = conn.execute(
                sa.select(t.items.c.id, t.items.c.attempts, t.items.c.max_attempts, t.items.c.lease_owner)
                .where(t.items.c.status == Status.RUNNING.value, t.items.c.lease_expires < now)
                .limit(limit)
            ).all()
            for item_id, attempts, max_attempts, owner in expired:
                exhausted = attempts >= max_attempts
                error = {
                    "kind": "lease_expired",
                    "code": "lease_expired",
                    "message": f"worker {owner} stopped answering; lease expired",
                    "traceback": None,
                }
                to = Status.FAILED if exhausted else Status.PENDING
                values = {"lease_owner": None, "lease_expires": None, "error": error}
                if to == Status.PENDING:
                    values |= sent_again(now)
                row = conn.execute(
                    sa.update(t.items)
                    .where(t.items.c.id == item_id, t.items.c.status == Status.RUNNING.value)
                    .values(status=to.value, version=t.items.c.version + 1, updated_at=now, **values)
                    .returning(t.items)
                ).one_or_none()
                if row is None:
                    continue  # its worker ended the run just now
                if to == Status.FAILED and AUTHORITY_KEY in (row.progress or {}):
                    # a failed run ends the clerk's authority it ran under (runs.py); the row is ours
                    # now (failed: no worker writes its checkpoints any more), so its copy is current
                    progress = {k: v for k, v in row.progress.items() if k != AUTHORITY_KEY}
                    row = conn.execute(
                        sa.update(t.items)
                        .where(t.items.c.id == item_id)
                        .values(progress=progress)
                        .returning(t.items)
                    ).one()
                reason = f"lease of {owner} expired" + ("; no attempts left" if exhausted else "")
                events.record(conn, "item", item_id, row.queue, Status.RUNNING, to, SYSTEM_ACTOR, reason, now)
                reaped.append(rows.item(row))
        return reaped

    def due_for_redispatch(self, limit: int = 1000) -> list[WorkItem]:
        """Pending, due items whose message nobody took within their bound: to be sent again, the bound doubled
        for the next time (so a queue that waits, paused or busy, is not flooded with copies)."""
        now = self.now()
        with self._write() as conn:
            stale = [
                rows.item(r)
                for r in conn.execute(
                    sa.select(t.items)
                    .where(
                        t.items.c.status == Status.PENDING.value,
                        sa.or_(t.items.c.redispatch_at.is_(None), t.items.c.redispatch_at <= now),
                        sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= now),
                    )
                    .order_by(t.items.c.priority.desc(), t.items.c.id)
                    .limit(limit)
                )
            ]
            if stale:
                conn.execute(
                    sa.update(t.items)
                    .where(t.items.c.id == sa.bindparam("p_id"))
                    .values(dispatches=t.items.c.dispatches + 1, redispatch_at=sa.bindparam("p_at")),
                    [{"p_id": i.id, "p_at": now + redispatch_delay(i.dispatches + 1)} for i in stale],
                )
        return stale
