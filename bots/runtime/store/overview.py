"""What supervisors and clerks see at a glance: figures per queue, failed items grouped by cause, alerts
(paused queues, overdue items and cases), and done events for the throughput of the backlog view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from bots.runtime import schema as t
from bots.runtime.clock import utc
from bots.runtime.states import TERMINAL, CaseStatus, Status
from bots.runtime.store import queues as queue_states
from bots.runtime.store.engine import StoreBase

OPEN_STATES = tuple(s.value for s in Status if s not in TERMINAL)
WAITING_STATES = (Status.PENDING.value, Status.DEFERRED.value)
MAX_GROUP_IDS = 200


# The open states as the German alert texts name them (the console shows the texts as they come).
_STATE_WORDS = {
    Status.PENDING.value: "wartend",
    Status.RUNNING.value: "läuft",
    Status.DEFERRED.value: "zurückgestellt",
    Status.HANDED_OFF.value: "in Sachbearbeitung",
    Status.FAILED.value: "fehlgeschlagen",
}


@dataclass
class QueueFigures:
    """The counts of one queue (the queue state comes from `Store.queue_state`)."""

    queue: str
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Status})
    deferred: dict[str, int] = field(default_factory=dict)
    done_since: int = 0  # done since the start of the day asked for
    done_recent: int = 0  # done in the recent window asked for
    oldest_waiting_at: datetime | None = None
    past_due: int = 0


@dataclass(frozen=True)
class ExceptionGroup:
    """Failed items of one queue with the same error kind and code, most recent first."""

    queue: str
    kind: str
    code: str
    count: int
    latest_at: datetime
    message: str
    item_ids: tuple[int, ...]


@dataclass(frozen=True)
class Alert:
    kind: str  # queue_paused | queue_resumed | item_overdue | case_overdue
    at: datetime
    queue: str | None
    subject_id: str
    message: str
    unit: str | None = None  # of a case


class OverviewStore(StoreBase):
    """Read-only figures for the operator API."""

    def queue_figures(
        self, queues: Sequence[str], *, day_start: datetime, recent_since: datetime
    ) -> dict[str, QueueFigures]:
        """Figures of `queues` and of every queue that has items."""
        now = self.now()
        c = t.items.c
        figures = {q: QueueFigures(q) for q in queues}

        def of(queue: str) -> QueueFigures:
            return figures.setdefault(queue, QueueFigures(queue))

        with self._read() as conn:
            for queue, status, reason, n in conn.execute(
                sa.select(c.queue, c.status, c.defer_reason, sa.func.count()).group_by(
                    c.queue, c.status, c.defer_reason
                )
            ):
                f = of(queue)
                f.counts[status] = f.counts.get(status, 0) + n
                if status == Status.DEFERRED.value and reason:
                    f.deferred[reason] = f.deferred.get(reason, 0) + n
            for queue, oldest in conn.execute(
                sa.select(c.queue, sa.func.min(c.created_at))
                .where(c.status.in_(WAITING_STATES))
                .group_by(c.queue)
            ):
                of(queue).oldest_waiting_at = utc(oldest) if oldest is not None else None
            for queue, n in conn.execute(
                sa.select(c.queue, sa.func.count())
                .where(c.status.in_(OPEN_STATES), c.due_at.is_not(None), c.due_at < now)
                .group_by(c.queue)
            ):
                of(queue).past_due = n
            e = t.events.c
            done_since = sa.func.sum(sa.case((e.at >= day_start, 1), else_=0))
            done_recent = sa.func.sum(sa.case((e.at >= recent_since, 1), else_=0))
            for queue, today, recent in conn.execute(
                sa.select(e.queue, done_since, done_recent)
                .where(
                    t.state_is(e.to_state, Status.DONE),
                    e.at >= min(day_start, recent_since),
                    e.subject == "item",
                )
                .group_by(e.queue)
            ):
                if queue is not None:
                    of(queue).done_since, of(queue).done_recent = int(today or 0), int(recent or 0)
        return figures

    def done_counts(self, since: datetime) -> dict[str, int]:
        """Items done per queue since `since` (from the event log)."""
        e = t.events.c
        q = (
            sa.select(e.queue, sa.func.count())
            .where(t.state_is(e.to_state, Status.DONE), e.at >= since, e.subject == "item")
            .group_by(e.queue)
        )
        with self._read() as conn:
            return {queue: n for queue, n in conn.execute(q) if queue is not None}

    def exception_groups(self, queue: str | None = None) -> list[ExceptionGroup]:
        """Failed items grouped by queue, error kind and code; the group with the latest failure first."""
        c = t.items.c
        q = (
            sa.select(c.id, c.queue, c.error, c.updated_at)
            .where(c.status == Status.FAILED.value)
            .order_by(c.updated_at.desc(), c.id.desc())
        )
        if queue:
            q = q.where(c.queue == queue)
        groups: dict[tuple[str, str, str], list[tuple[int, datetime, str]]] = {}
        with self._read() as conn:
            for item_id, item_queue, error, updated in conn.execute(q):
                error = error or {}
                key = (item_queue, str(error.get("kind", "")), str(error.get("code", "")))
                groups.setdefault(key, []).append((item_id, utc(updated), str(error.get("message", ""))))
        return [
            ExceptionGroup(
                key[0],
                key[1],
                key[2],
                len(members),
                members[0][1],
                members[0][2],
                tuple(m[0] for m in members[:MAX_GROUP_IDS]),
            )
            for key, members in groups.items()
        ]

    def alerts(self, *, units: Sequence[str] | None = None, limit: int = 200) -> list[Alert]:
        """Newest first: queues paused and resumed, open items past due, cases past due; `units` (a clerk's):
        only the overdue cases of these units."""
        now = self.now()
        found: list[Alert] = []
        with self._read() as conn:
            if units is None:
                e = t.events.c
                for row in conn.execute(
                    sa.select(e.at, e.queue, e.subject_id, e.to_state, e.actor, e.reason)
                    .where(
                        e.subject == "queue",
                        sa.or_(
                            sa.and_(e.from_state == queue_states.RUNNING, e.to_state == queue_states.PAUSED),
                            sa.and_(e.from_state == queue_states.PAUSED, e.to_state == queue_states.RUNNING),
                        ),
                    )
                    .order_by(e.id.desc())
                    .limit(limit)
                ):
                    paused = row.to_state == queue_states.PAUSED
                    verb = "pausiert" if paused else "fortgesetzt"
                    found.append(
                        Alert(
                            "queue_paused" if paused else "queue_resumed",
                            utc(row.at),
                            row.queue,
                            row.subject_id,
                            f"Warteschlange {row.subject_id} {verb} von {row.actor}: {row.reason}",
                        )
                    )
                c = t.items.c
                for item in conn.execute(
                    sa.select(c.id, c.queue, c.due_at, c.status)
                    .where(c.status.in_(OPEN_STATES), c.due_at.is_not(None), c.due_at < now)
                    .order_by(c.due_at.desc())
                    .limit(limit)
                ):
                    found.append(
                        Alert(
                            "item_overdue",
                            utc(item.due_at),
                            item.queue,
                            str(item.id),
                            f"Auftrag {item.id} ({_STATE_WORDS.get(item.status, item.status)}) ist überfällig",
                        )
                    )
            k = t.cases.c
            cases = (
                sa.select(k.id, k.queue, k.unit, k.due_at, k.item_id)
                .where(k.status != CaseStatus.RESOLVED.value, k.due_at.is_not(None), k.due_at < now)
                .order_by(k.due_at.desc())
                .limit(limit)
            )
            if units is not None:
                cases = cases.where(k.unit.in_(list(units)))
            for case in conn.execute(cases):
                found.append(
                    Alert(
                        "case_overdue",
                        utc(case.due_at),
                        case.queue,
                        str(case.id),
                        f"Fall {case.id} ({case.unit}) zu Auftrag {case.item_id} ist überfällig",
                        case.unit,
                    )
                )
        found.sort(key=lambda a: a.at, reverse=True)
        return found[:limit]
