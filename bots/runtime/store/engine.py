"""The engine, its read and write transactions, and the clock every part of the store shares."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from bots.runtime.clock import Clock, SystemClock, utc
from bots.runtime.errors import StoreUnavailable
from bots.runtime.store.kept import Kept

log = logging.getLogger(__name__)

PING_AFTER_IDLE_SECONDS = 2.0
SQLITE_LOCK_TIMEOUT_SECONDS = 30
# Every SQLite connection's settings (besides its lock timeout). WAL: readers never wait for the writer, and a
# commit only appends the pages it changed to the log (synchronous=NORMAL: no fsync per commit; a power cut may
# lose the last commits, never the database). The log is copied back into the database (a checkpoint) when it
# holds 10,000 pages (~40 MB), not at SQLite's 1,000: an item's three changes write ~18 pages, so every ~50
# items the same few hot pages were copied back, a quarter of the store's CPU with three processes writing.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000", "foreign_keys=ON")
# Under steady writes from several processes SQLite's own checkpoints never start the log over: each copies
# back only what no reader still needs, some process always is in a transaction, and from then on every commit
# checkpoints again (two fsyncs) while the log grows, and with it every page lookup (200 MB after 3,000 items
# with three processes writing). So every 300th write of a process restarts the log itself (RESTART: copy all
# back, then begin the log anew), waiting at most 0.1 s for readers; a restart that has to give up is tried
# again 300 writes later, with SQLite's own checkpoints (SQLITE_PRAGMAS) behind it.
LOG_RESTART_EVERY_WRITES = 300
LOG_RESTART_WAIT_MS = 100
# a pooled SQLite connection's mark: its busy timeout is 0 (the writer's, StoreBase._sqlite_writer)
_OWN_LOCK_WAITS = "portalbots_own_lock_waits"


def make_engine(url: str) -> Engine:
    """An engine tuned for our access pattern: WAL and immediate write locks on SQLite."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            for pragma in (*SQLITE_PRAGMAS, f"busy_timeout={SQLITE_LOCK_TIMEOUT_SECONDS * 1000}"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Readers take no write lock; writers take it at BEGIN so two writers never deadlock on upgrade.
            raw = _driver(conn)
            if conn.get_execution_options().get("portalbots_readonly", False):
                conn.exec_driver_sql("BEGIN")
            elif not raw.in_transaction:  # else a statement joins the store's own write (StoreBase._write)
                raw.execute("PRAGMA busy_timeout=0")
                try:
                    _begin_immediate(raw)
                finally:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_SECONDS * 1000}")

        @sa_event.listens_for(engine, "checkin")
        def _waits_again(dbapi_conn: Any, record: Any) -> None:
            # the store's writer connection waits for locks in _begin_immediate; back in the pool, as all others
            if dbapi_conn is not None and record.info.pop(_OWN_LOCK_WAITS, False):
                dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_SECONDS * 1000}")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa.create_engine(url, pool_size=5, max_overflow=5)
    _ping_after_idle(engine)
    return engine


def _driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under one of a SQLite engine's connections."""
    return cast(sqlite3.Connection, conn.connection.dbapi_connection)


def _begin_immediate(raw: sqlite3.Connection) -> None:
    """Take SQLite's write lock on a connection whose busy timeout is 0. SQLite's own busy handler sleeps at
    least 1 ms, then 2, 5, 10 ms…, while a write transaction of ours holds the lock for about 0.2 ms: with
    three processes writing, those sleeps were half of a no-op item's time. So the first ~0.1 s of waiting is
    ours, in steps of 50 µs doubling to 2 ms; a longer wait is SQLite's, up to the lock timeout (then
    StoreUnavailable, as for every lock)."""
    delay = 0.00005
    for _ in range(50):
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise  # not a lock: the store translates it
        time.sleep(delay)
        delay = min(delay * 2, 0.002)
    raw.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_SECONDS * 1000}")
    try:
        raw.execute("BEGIN IMMEDIATE")
    finally:
        raw.execute("PRAGMA busy_timeout=0")


def restart_log(raw: sqlite3.Connection) -> bool:
    """Copy SQLite's whole log back into the database and start it over, on a connection outside a transaction
    whose busy timeout is 0 (the writer's); False when a reader held on longer than LOG_RESTART_WAIT_MS."""
    try:
        raw.execute(f"PRAGMA busy_timeout={LOG_RESTART_WAIT_MS}")
        try:
            busy = raw.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
        finally:
            raw.execute("PRAGMA busy_timeout=0")
    except sqlite3.Error as exc:  # the write before it is committed: it must not look failed
        log.warning("restarting the SQLite log failed: %s", exc)
        return False
    return int(busy) == 0


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
    except sqlite3.OperationalError as exc:  # the driver's own: a SQLite write's BEGIN or COMMIT
        raise StoreUnavailable(f"the database is unavailable: {exc}") from exc


_writers: dict[str, threading.Lock] = {}
_writers_lock = threading.Lock()


def _forget_writers() -> None:
    """A forked child has only the forking thread: a lock another thread held at the fork stays held."""
    global _writers, _writers_lock
    _writers, _writers_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_writers)


def _writer_lock(url: str) -> threading.Lock:
    """The lock the threads of this process take before SQLite's write lock on the database at `url`."""
    with _writers_lock:
        return _writers.setdefault(url, threading.Lock())


@contextmanager
def _one_writer(lock: threading.Lock | None) -> Iterator[None]:
    """SQLite: one write transaction at a time per process. The threads of one process (the intake's thread
    pool, a threads worker) queue here, asleep, instead of each polling SQLite's lock — eight threads polling
    it cost the intake more CPU than their writes. Other processes still meet at SQLite's lock."""
    if lock is None:
        yield
        return
    if not lock.acquire(timeout=SQLITE_LOCK_TIMEOUT_SECONDS):
        raise StoreUnavailable("the database is unavailable: another write of this process held it too long")
    try:
        yield
    finally:
        lock.release()


class StoreBase:
    """What every part of the store builds on: one engine, its transactions, and the clock."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._reader = self.engine.execution_options(portalbots_readonly=True)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.clock: Clock = clock or SystemClock()
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # the connections writes go through, kept between them (kept.py): SQLite's one writer of this
        # process (_one_writer), PostgreSQL's one-statement changes (a few threads at once)
        self._writer = Kept(self._sqlite_writer, most=1)
        self._statements = Kept(self._autocommit.connect, most=2, idle_limit=lambda: PING_AFTER_IDLE_SECONDS)
        self._writer_key = str(self.engine.url)  # its write turn's key (rendering the URL costs a write 5 µs)
        self._writes = 0  # SQLite writes of this store, for the log's restarts

    def dispose(self) -> None:
        self._writer.close()
        self._statements.close()
        self.engine.dispose()

    def _sqlite_writer(self) -> Connection:
        """A connection for SQLite writes; it waits for the write lock in _begin_immediate, not in SQLite."""
        conn = self.engine.connect()
        _driver(conn).execute("PRAGMA busy_timeout=0")
        conn.connection.info[_OWN_LOCK_WAITS] = True  # given back to the pool, it waits again (make_engine)
        return conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.is_postgres:
            with _translated(), self.engine.begin() as conn:
                yield conn
            return
        # SQLite: the process's turn at writing (_one_writer, looked up each time: a fork forgets them), then a
        # transaction begun and committed on the driver's connection: SQLAlchemy's Transaction and its events
        # cost a write more CPU than the begin and commit themselves (40 µs of 60). A statement run through
        # SQLAlchemy inside joins it (the "begin" listener), and then SQLAlchemy's commit is the commit. A
        # write that fails leaves nothing: Kept.use closes its connection, which rolls back.
        with _one_writer(_writer_lock(self._writer_key)), _translated(), self._writer.use() as conn:
            raw = _driver(conn)
            _begin_immediate(raw)
            yield conn
            if conn.in_transaction():
                conn.commit()
            else:
                raw.execute("COMMIT")
            self._writes += 1
            if self._writes % LOG_RESTART_EVERY_WRITES == 0:
                restart_log(raw)

    def _one_statement(self) -> AbstractContextManager[Connection]:
        """For a change made by one statement (see logged.py): on PostgreSQL a connection without a
        transaction of ours (the statement is its own: no BEGIN, no COMMIT, two round trips fewer); on SQLite a
        write transaction, as the change takes two statements there."""
        return self._statement() if self.is_postgres else self._write()

    @contextmanager
    def _statement(self) -> Iterator[Connection]:
        with _translated(), self._statements.use() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _translated(), self._reader.begin() as conn:
            yield conn

    def now(self) -> datetime:
        return utc(self.clock.now())
