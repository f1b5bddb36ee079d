"""The engine, its read and write transactions, and the clock every part of the store shares."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from bots.runtime.clock import Clock, SystemClock, utc
from bots.runtime.errors import StoreUnavailable

PING_AFTER_IDLE_SECONDS = 2.0


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
    engine = sa.create_engine(url, pool_size=5, max_overflow=5)
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it lay idle for a while (a server restarted, a firewall
    dropped it): SQLAlchemy's pre-ping checks every time, two round trips, a quarter of a no-op item's CPU.
    A connection that dies while in steady use fails one statement (StoreUnavailable), and SQLAlchemy then
    renews the whole pool."""

    @sa_event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def _alive(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # the pool drops this connection and checks out another (a fresh one after a restart)
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc


@contextmanager
def _translated() -> Iterator[None]:
    """The database's "cannot now" (no connection, server gone, locked too long) as StoreUnavailable."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(
            f"the database is unavailable: {str(exc.orig).strip().splitlines()[0]}"
        ) from exc


class StoreBase:
    """What every part of the store builds on: one engine, its transactions, and the clock."""

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
        with _translated(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _translated(), self._reader.begin() as conn:
            yield conn

    def now(self) -> datetime:
        return utc(self.clock.now())
