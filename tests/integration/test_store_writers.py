"""SQLite: the threads of one process take turns at writing (store/engine.py `_one_writer`), through one
connection kept between writes (store/kept.py)."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bots.runtime import schema
from bots.runtime.clock import FixedClock
from bots.runtime.errors import StoreUnavailable
from bots.runtime.migrate import upgrade
from bots.runtime.states import Status
from bots.runtime.store import Store, engine, events


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: FixedClock) -> Store:
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    upgrade(url)
    return Store(url, clock)


def test_many_threads_writing_at_once_each_write_once(sqlite_store: Store) -> None:
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            for k in range(20):
                sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=f"{n}-{k}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 160}}


def test_a_write_that_failed_lets_the_next_one_in(sqlite_store: Store) -> None:
    with pytest.raises(RuntimeError), sqlite_store._write():
        raise RuntimeError("the bot's code broke mid-transaction")
    done = threading.Event()

    def submit() -> None:
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
        done.set()

    threading.Thread(target=submit, daemon=True).start()
    assert done.wait(10), "the failed write kept the process's write turn"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_another_thread_has_the_write_turn_can_write(sqlite_store: Store) -> None:
    """A Celery pool process is forked from a parent whose other threads may hold the write turn at that
    moment. (Only the turn: a SQLite connection itself must never cross a fork, SQLite's own rule.)"""
    turn = engine._writer_lock(str(sqlite_store.engine.url))
    holding, leave = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        with turn:
            holding.set()
            leave.wait(10)

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    assert holding.wait(10)
    sqlite_store.engine.dispose()  # no connection in the pool at the fork
    pid = os.fork()
    if pid == 0:  # the child: its copy of the holding thread is gone; the turn must not stay taken
        code = 1
        try:
            store = Store(str(sqlite_store.engine.url), FixedClock(sqlite_store.now()))
            store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="from-the-child")
            code = 0
        finally:
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        leave.set()
        holder.join(10)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 1}}


def checkouts(store: Store) -> list[int]:
    """Counts the connections the store takes out of its pool from now on."""
    taken: list[int] = []
    sa.event.listen(store.engine, "checkout", lambda *_: taken.append(1))
    return taken


def test_the_writes_of_a_process_go_through_one_kept_connection(sqlite_store: Store) -> None:
    taken = checkouts(sqlite_store)
    for n in range(5):
        item, _ = sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=str(n))
        claimed = sqlite_store.claim(item.id, "w", timedelta(minutes=1))
        assert claimed is not None
        sqlite_store.finish(claimed, Status.DONE, actor="w", reason="done", result={})
    assert len(taken) == 1


def test_a_failed_write_leaves_nothing_behind_and_the_next_starts_afresh(sqlite_store: Store) -> None:
    taken = checkouts(sqlite_store)
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="kept")
    with pytest.raises(RuntimeError), sqlite_store._write() as conn:
        conn.execute(sa.update(schema.items).values(reference="half-done"))
        raise RuntimeError("the bot's code broke mid-transaction")
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="after")
    assert len(taken) == 2  # the failed write's connection was closed, not kept
    assert sorted(i.reference for i in sqlite_store.list_items()) == ["after", "kept"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_through_a_connection_of_its_own(sqlite_store: Store) -> None:
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="parent-before")
    pid = os.fork()
    if pid == 0:  # the child: the parent's kept connection is the parent's (SQLite: never across a fork)
        code = 1
        try:
            sqlite_store.engine.dispose(close=False)  # the pool's connections too, as after any fork
            sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="parent-after")
    assert sorted(i.reference for i in sqlite_store.list_items()) == [
        "child",
        "parent-after",
        "parent-before",
    ]


def busy_timeout(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_write_of_driver_statements_only_that_fails_leaves_nothing(sqlite_store: Store) -> None:
    """The store begins and commits SQLite's write transactions on the driver's connection; a write whose
    statements all ran there (prepared.py) is rolled back as one through SQLAlchemy is."""
    item, _ = sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    before = sqlite_store.events("item", item.id)
    with pytest.raises(RuntimeError), sqlite_store._write() as conn:
        assert busy_timeout(conn) == 0  # the writer waits for the lock itself (engine._begin_immediate)
        events.record(
            conn, "item", item.id, "echo", "pending", "running", "w", "half-done", sqlite_store.now()
        )
        raise RuntimeError("the bot's code broke mid-transaction")
    assert sqlite_store.events("item", item.id) == before
    with sqlite_store.engine.connect() as conn:  # the failed writer's connection, back in the pool
        assert busy_timeout(conn) == engine.SQLITE_LOCK_TIMEOUT_SECONDS * 1000
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="after")
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 2}}


def held_elsewhere(store: Store) -> sqlite3.Connection:
    """Another process's write lock on the store's database (a connection of its own)."""
    other = sqlite3.connect(
        store.url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_write_waits_for_the_lock_another_process_holds(sqlite_store: Store) -> None:
    other = held_elsewhere(sqlite_store)
    # released after the store's own short waits (~0.1 s), within SQLite's wait that follows them
    releasing = threading.Timer(0.3, other.execute, ("COMMIT",))
    releasing.start()
    try:
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    finally:
        releasing.join(10)
        other.close()
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 1}}
    with sqlite_store._write() as conn:
        assert busy_timeout(conn) == 0  # back to its own waits after SQLite's


def test_a_lock_held_beyond_the_timeout_is_store_unavailable_and_costs_nothing(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "SQLITE_LOCK_TIMEOUT_SECONDS", 0.2)
    other = held_elsewhere(sqlite_store)
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    finally:
        other.execute("ROLLBACK")
        other.close()
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 1}}


def wal_bytes(store: Store) -> int:
    return Path(store.url.removeprefix("sqlite:///") + "-wal").stat().st_size


def test_every_so_many_writes_the_log_starts_over(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoints (every 10,000 log pages) are not reached here; the store's restarts are: the
    log is written from its start again, so its file stops growing."""
    monkeypatch.setattr(engine, "LOG_RESTART_EVERY_WRITES", 10)
    for n in range(10):
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=f"a{n}")
    first = wal_bytes(sqlite_store)
    for n in range(40):
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=f"b{n}")
    assert wal_bytes(sqlite_store) <= first * 1.2  # without restarts: about five times as long

    monkeypatch.setattr(engine, "LOG_RESTART_EVERY_WRITES", 1000)
    for n in range(40):
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=f"c{n}")
    assert wal_bytes(sqlite_store) > first * 2  # the same writes, no restart: the log grows
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 90}}


def test_a_reader_holding_on_lets_the_restart_give_up_not_the_write(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="before")
    reader = sqlite3.connect(sqlite_store.url.removeprefix("sqlite:///"), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM work_items").fetchone()  # reads from the log, and keeps reading it
    try:
        with sqlite_store._writer.use() as conn:  # the writer's connection, between two writes
            assert engine.restart_log(engine._driver(conn)) is False  # after LOG_RESTART_WAIT_MS
        monkeypatch.setattr(engine, "LOG_RESTART_EVERY_WRITES", 1)  # each write restarts it, or gives up
        sqlite_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="while-read")
    finally:
        reader.execute("COMMIT")
        reader.close()
    with sqlite_store._writer.use() as conn:
        assert engine.restart_log(engine._driver(conn)) is True
    assert "failed" not in caplog.text  # it waited and gave up; nothing went wrong
    assert sqlite_store.counts() == {"echo": {Status.PENDING.value: 2}}
