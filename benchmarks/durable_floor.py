"""The floor: the least a durable queue with a history writes per item, on the runtime's own tables.

For the (c) of runtime_throughput.py and of intake_throughput.py: what a no-op item would cost if the store
were hand-written SQL on the driver (sqlite3, psycopg), with no SQLAlchemy, no runner, no checks beyond the
lease. Per item, as the runtime does it: the item and its "submitted" event in one transaction (the sender,
or the intake), then "claimed" and "done", each with its event, in one transaction each (the Celery task);
every index of the runtime's schema is kept up to date, on SQLite in WAL mode with the runtime's pragmas and
restarts of the log, on PostgreSQL one statement (a data-modifying CTE) per change. It is no design to
follow: it checks no paused queue, no breaker, no request model, keeps no connection pool. Its ratio to bare
Celery (or bare FastAPI) is the most any runtime that keeps the item durable with its history could reach
here; the runtime's ratio to it is what the runtime's own code costs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import signals

QUEUE = "floor"
LEASE = timedelta(minutes=15)
DB_ENV = "BENCH_FLOOR_DB"
# the runtime's (store/engine.py SQLITE_PRAGMAS, which a test holds this to); written out, as this module is
# also imported beside an older checkout of the runtime (runtime_throughput.py --against)
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000", "foreign_keys=ON")
# and, as the runtime (store/engine.py), the log started over by every 300th write of a process
LOG_RESTART_EVERY_WRITES = 300
LOG_RESTART_WAIT_MS = 100

_ITEM_COLUMNS = (
    "queue, reference, request_hash, customer_id, priority, status, attempts, max_attempts, payload, "
    "progress, version, created_at, updated_at, breaker_trial, dispatches, redispatch_at"
)
_EVENT_COLUMNS = "at, actor, subject, subject_id, queue, from_state, to_state, reason, detail"

SQLITE = {
    "submit": f"INSERT INTO work_items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, 0, 'pending', 0, 5, ?, '{{}}', 1, "
    "?, ?, 0, 1, ?) RETURNING id, queue",
    "claim": "UPDATE work_items SET status = 'running', lease_owner = ?, lease_expires = ?, "
    "attempts = attempts + 1, version = version + 1, updated_at = ? "
    "WHERE id = ? AND status = 'pending' AND (not_before IS NULL OR not_before <= ?) RETURNING id, queue",
    "finish": "UPDATE work_items SET status = 'done', result = '{}', lease_owner = NULL, lease_expires = NULL, "
    "redispatch_at = NULL, version = version + 1, updated_at = ? "
    "WHERE id = ? AND status = 'running' AND lease_owner = ? RETURNING id, queue",
    "event": f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, 'item', ?, ?, ?, ?, ?, '{{}}')",
}


def _pg(change: str, from_state: str | None, to_state: str, reason: str) -> str:
    """PostgreSQL: the change and its event in one statement."""
    origin = "NULL" if from_state is None else f"'{from_state}'"
    return (
        f"WITH changed AS ({change}), logged AS (INSERT INTO events ({_EVENT_COLUMNS}) "
        f"SELECT %(at)s, %(actor)s, 'item', changed.id::text, changed.queue, {origin}, '{to_state}', "
        f"'{reason}', '{{}}'::json FROM changed) SELECT id FROM changed"
    )


POSTGRES = {
    "submit": _pg(
        f"INSERT INTO work_items ({_ITEM_COLUMNS}) VALUES (%(queue)s, %(reference)s, %(hash)s, %(customer)s, 0, "
        "'pending', 0, 5, %(payload)s::json, '{}'::json, 1, %(at)s, %(at)s, false, 1, %(redispatch)s) "
        "RETURNING id, queue",
        None,
        "pending",
        "submitted",
    ),
    "claim": _pg(
        "UPDATE work_items SET status = 'running', lease_owner = %(actor)s, lease_expires = %(until)s, "
        "attempts = attempts + 1, version = version + 1, updated_at = %(at)s "
        "WHERE id = %(id)s AND status = 'pending' AND (not_before IS NULL OR not_before <= %(at)s) "
        "RETURNING id, queue",
        "pending",
        "running",
        "claimed",
    ),
    "finish": _pg(
        "UPDATE work_items SET status = 'done', result = '{}'::json, lease_owner = NULL, lease_expires = NULL, "
        "redispatch_at = NULL, version = version + 1, updated_at = %(at)s "
        "WHERE id = %(id)s AND status = 'running' AND lease_owner = %(actor)s RETURNING id, queue",
        "running",
        "done",
        "done",
    ),
}


def _sqlite_time(at: datetime) -> str:
    """How SQLAlchemy stores a datetime in SQLite (the runtime reads these rows)."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


class FloorStore:
    """The three changes of an item on one raw connection (one per process, or per thread: not shared)."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.actor = f"floor:{os.getpid()}"
        self.writes = 0
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in (*SQLITE_PRAGMAS, "busy_timeout=0"):  # its lock waits are below, as the runtime's
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def submit(self, payload: dict[str, Any], customer_id: str, reference: str | None = None) -> int:
        now = datetime.now(UTC)
        text = json.dumps(payload, sort_keys=True)
        reference, digest = reference or uuid.uuid4().hex, hashlib.sha256(text.encode()).hexdigest()
        redispatch = now + timedelta(seconds=60)
        if not self.sqlite:
            return self._pg("submit", queue=QUEUE, reference=reference, hash=digest, customer=customer_id,
                            payload=text, at=now, redispatch=redispatch, actor="intake")  # fmt: skip
        at = _sqlite_time(now)
        return self._sqlite(
            SQLITE["submit"],
            (QUEUE, reference, digest, customer_id, text, at, at, _sqlite_time(redispatch)),
            (at, "intake", None, "pending", "submitted"),
        )

    def claim(self, item_id: int) -> int | None:
        now = datetime.now(UTC)
        if not self.sqlite:
            return self._pg("claim", id=item_id, actor=self.actor, until=now + LEASE, at=now)
        at = _sqlite_time(now)
        return self._sqlite(
            SQLITE["claim"],
            (self.actor, _sqlite_time(now + LEASE), at, item_id, at),
            (at, self.actor, "pending", "running", "claimed"),
        )

    def finish(self, item_id: int) -> int | None:
        now = datetime.now(UTC)
        if not self.sqlite:
            return self._pg("finish", id=item_id, actor=self.actor, at=now)
        at = _sqlite_time(now)
        return self._sqlite(
            SQLITE["finish"], (at, item_id, self.actor), (at, self.actor, "running", "done", "done")
        )

    def _pg(self, statement: str, **params: Any) -> Any:
        row = self.conn.execute(POSTGRES[statement], params).fetchone()
        return None if row is None else row[0]

    def _sqlite(self, change: str, params: tuple[Any, ...], event: tuple[Any, ...]) -> Any:
        self._begin_immediate()
        try:
            row = self.conn.execute(change, params).fetchone()
            if row is not None:
                at, actor, from_state, to_state, reason = event
                self.conn.execute(
                    SQLITE["event"], (at, actor, str(row[0]), row[1], from_state, to_state, reason)
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.writes += 1
        if self.writes % LOG_RESTART_EVERY_WRITES == 0:
            self.conn.execute(f"PRAGMA busy_timeout={LOG_RESTART_WAIT_MS}")
            self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.conn.execute("PRAGMA busy_timeout=0")
        return None if row is None else row[0]

    def _begin_immediate(self) -> None:
        """SQLite's write lock, waited for as the runtime waits (short sleeps, doubling)."""
        delay = 0.00005
        for _ in range(2000):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
        raise RuntimeError("the floor's database stayed locked")


_store: FloorStore | None = None


def floor_task(item_id: int) -> None:
    """The Celery task of (c): claim and finish, each with its event."""
    global _store
    if _store is None:
        _store = FloorStore(os.environ[DB_ENV])
    if _store.claim(item_id) is not None:
        _store.finish(item_id)


@signals.worker_process_init.connect
def _fresh_store(**_: Any) -> None:
    global _store
    _store = None  # no connection crosses a fork


if __name__ == "__main__":
    raise SystemExit("durable_floor.py is the floor (c) of runtime_throughput.py: run that one")
