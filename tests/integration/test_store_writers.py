"""SQLite: the threads of one process take turns at writing (store/engine.py `_one_writer`), through one
connection kept between writes (store/kept.py)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bots.runtime import schema
from bots.runtime.clock import FixedClock
from bots.runtime.migrate import upgrade
from bots.runtime.states import Status
from bots.runtime.store import Store, engine


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
