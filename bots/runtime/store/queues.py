"""Queue states: running or paused (by an operator or the circuit breaker), the breaker's count of system
errors in a row, its cool-down and the trial item it lets through a paused queue (half-open)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.models import Mail, QueueState, WorkItem
from bots.runtime.states import Status
from bots.runtime.store import dispatching, events, outbox, prepared, rows
from bots.runtime.store.engine import StoreBase

RUNNING, PAUSED, HALF_OPEN = "running", "paused", "half_open"  # a queue's states in the event log

# Built once, for every item that ends done: built per call it cost 0.13 ms of CPU per item (the store's
# submit + claim + finish take 0.8 ms in all).
_RESET_ERROR_RUN = (
    sa.update(t.queue_states)
    .where(t.queue_states.c.queue == sa.bindparam("p_queue"), t.queue_states.c.consecutive_errors > 0)
    .values(consecutive_errors=0)
)


def paused(queue: sa.ColumnElement[str]) -> sa.Exists:
    """True in SQL when `queue` is paused; a claim checks it in its own statement."""
    return (
        sa.select(t.queue_states.c.queue)
        .where(t.queue_states.c.queue == queue, t.queue_states.c.paused.is_(True))
        .exists()
    )


def reset_error_run(conn: Connection, queue: str) -> None:
    """A run that ended done ends the queue's run of system errors."""
    prepared.one_or_none(conn, _RESET_ERROR_RUN, {"p_queue": queue})


def _ensure_row(conn: Connection, queue: str) -> None:
    exists = conn.execute(sa.select(t.queue_states.c.queue).where(t.queue_states.c.queue == queue)).first()
    if exists is None:
        conn.execute(sa.insert(t.queue_states).values(queue=queue, paused=False, consecutive_errors=0))


class QueueStore(StoreBase):
    """Pausing and resuming queues, and the breaker's error counter."""

    def queue_state(self, queue: str) -> QueueState:
        with self._read() as conn:
            row = conn.execute(sa.select(t.queue_states).where(t.queue_states.c.queue == queue)).one_or_none()
        if row is None:
            return QueueState(queue, False, None, None, None, 0)
        return rows.queue_state(row)

    def record_system_error(self, queue: str) -> int:
        """Count one more system error in a row on `queue`; returns the run length."""
        with self._write() as conn:
            _ensure_row(conn, queue)
            return int(
                conn.execute(
                    sa.update(t.queue_states)
                    .where(t.queue_states.c.queue == queue)
                    .values(consecutive_errors=t.queue_states.c.consecutive_errors + 1)
                    .returning(t.queue_states.c.consecutive_errors)
                ).scalar_one()
            )

    def pause_queue(
        self,
        queue: str,
        actor: str,
        reason: str,
        *,
        resume_at: datetime | None = None,
        cooldown: timedelta | None = None,
        alert: Mail | None = None,
    ) -> bool:
        """Pause a queue (with the breaker's `resume_at` and `cooldown`); False when it was paused already.
        `alert` is queued in the outbox in the same transaction."""
        now = self.now()
        with self._write() as conn:
            _ensure_row(conn, queue)
            n = conn.execute(
                sa.update(t.queue_states)
                .where(t.queue_states.c.queue == queue, t.queue_states.c.paused == sa.false())
                .values(
                    paused=True,
                    paused_reason=reason,
                    paused_at=now,
                    paused_by=actor,
                    resume_at=resume_at,
                    cooldown_seconds=int(cooldown.total_seconds()) if cooldown else None,
                )
            ).rowcount
            if n:
                events.record(conn, "queue", queue, queue, RUNNING, PAUSED, actor, reason, now)
                if alert is not None:
                    outbox.add(conn, alert, now)
        return bool(n)

    def resume_queue(self, queue: str, actor: str, reason: str, *, alert: Mail | None = None) -> bool:
        """Resume a paused queue and end its run of errors; False when it was running."""
        now = self.now()
        with self._write() as conn:
            _ensure_row(conn, queue)
            n = conn.execute(
                sa.update(t.queue_states)
                .where(t.queue_states.c.queue == queue, t.queue_states.c.paused == sa.true())
                .values(
                    paused=False,
                    paused_reason=None,
                    paused_at=None,
                    paused_by=None,
                    consecutive_errors=0,
                    resume_at=None,
                    cooldown_seconds=None,
                )
            ).rowcount
            if n:
                events.record(conn, "queue", queue, queue, PAUSED, RUNNING, actor, reason, now)
                if alert is not None:
                    outbox.add(conn, alert, now)
                # what waited is sent at housekeeping's next round, not after its resend bound
                conn.execute(
                    sa.update(t.items)
                    .where(t.items.c.queue == queue, t.state_is(t.items.c.status, Status.PENDING))
                    .values(redispatch_at=now)
                )
        return bool(n)

    def extend_pause(self, queue: str, actor: str, reason: str, cooldown: timedelta) -> bool:
        """A trial failed: the queue stays paused for a new cool-down from now; False when not paused."""
        now = self.now()
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.queue_states)
                .where(t.queue_states.c.queue == queue, t.queue_states.c.paused == sa.true())
                .values(resume_at=now + cooldown, cooldown_seconds=int(cooldown.total_seconds()))
            ).rowcount
            if n:
                events.record(conn, "queue", queue, queue, HALF_OPEN, PAUSED, actor, reason, now)
        return bool(n)

    def start_trials(self, actor: str, limit: int = 20) -> list[WorkItem]:
        """Queues whose breaker cool-down is over and that have no trial under way let their most urgent
        due pending item through (half-open); the items chosen, to be sent to a worker."""
        now = self.now()
        chosen: list[WorkItem] = []
        with self._write() as conn:
            ready = conn.execute(
                sa.select(t.queue_states.c.queue)
                .where(
                    t.queue_states.c.paused == sa.true(),
                    t.queue_states.c.resume_at.is_not(None),
                    t.queue_states.c.resume_at <= now,
                )
                .limit(limit)
            ).scalars()
            for queue in list(ready):
                under_way = conn.execute(
                    sa.select(t.items.c.id).where(
                        t.items.c.queue == queue,
                        t.items.c.breaker_trial == sa.true(),
                        t.items.c.status.in_([Status.PENDING.value, Status.RUNNING.value]),
                    )
                ).first()
                if under_way is not None:
                    continue
                row = conn.execute(
                    sa.update(t.items)
                    .where(t.items.c.id == most_urgent_due(queue, now).scalar_subquery())
                    .values(breaker_trial=True, **dispatching.sent_again(now))
                    .returning(t.items)
                ).one_or_none()
                if row is None:
                    continue  # nothing waits: a later round lets through what arrives
                reason = f"Abkühlzeit vorbei: Auftrag {row.id} darf als Probe laufen"
                events.record(conn, "queue", queue, queue, PAUSED, HALF_OPEN, actor, reason, now)
                chosen.append(rows.item(row))
        return chosen


def most_urgent_due(queue: str, now: datetime) -> sa.Select[Any]:
    """The id of a queue's most urgent due pending item: priority, then due date, then age."""
    return (
        sa.select(t.items.c.id)
        .where(
            t.items.c.queue == queue,
            t.state_is(t.items.c.status, Status.PENDING),
            sa.or_(t.items.c.not_before.is_(None), t.items.c.not_before <= now),
        )
        .order_by(t.items.c.priority.desc(), t.items.c.due_at.asc().nulls_last(), t.items.c.id.asc())
        .limit(1)
    )
