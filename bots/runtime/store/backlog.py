"""Backlog snapshots: the open work per queue, state and deferral reason over time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bots.runtime import schema as t
from bots.runtime.models import BacklogPoint
from bots.runtime.states import TERMINAL, Status
from bots.runtime.store import rows
from bots.runtime.store.engine import StoreBase


class BacklogStore(StoreBase):
    """Recording and reading the supervisor's backlog chart."""

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
            snapshot = [
                {"at": now, "queue": queue, "status": status, "reason": reason, "count": n}
                for queue, status, reason, n in conn.execute(q)
            ]
            if snapshot:
                conn.execute(sa.insert(t.backlog_snapshots), snapshot)
        return len(snapshot)

    def backlog(self, since: datetime, queue: str | None = None) -> list[BacklogPoint]:
        q = (
            sa.select(t.backlog_snapshots)
            .where(t.backlog_snapshots.c.at >= since)
            .order_by(t.backlog_snapshots.c.at)
        )
        if queue:
            q = q.where(t.backlog_snapshots.c.queue == queue)
        with self._read() as conn:
            return [rows.backlog_point(r) for r in conn.execute(q)]
