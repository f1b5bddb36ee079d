"""The throughput benchmark's floor (benchmarks/durable_floor.py) does the runtime's durable work: it writes
items and events the store reads as its own, so comparing the runtime with it is fair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import durable_floor
from benchmarks.durable_floor import QUEUE, FloorStore
from bots.runtime.migrate import upgrade
from bots.runtime.states import Status
from bots.runtime.store import Store, engine

PAYLOAD = {"customer_id": "K1", "action": "noop"}


def test_the_floor_leaves_an_item_done_with_its_history(store: Store, db_url: str) -> None:
    floor = FloorStore(db_url)
    try:
        item_id = floor.submit(PAYLOAD, "K1")
        submitted = store.get(item_id)
        assert floor.claim(item_id) == item_id
        assert floor.claim(item_id) is None  # running: a second delivery takes nothing
        running = store.get(item_id)
        assert floor.finish(item_id) == item_id
        assert floor.finish(item_id) is None
    finally:
        floor.close()

    assert (submitted.queue, submitted.status, submitted.payload, submitted.customer_id) == (
        QUEUE,
        Status.PENDING,
        PAYLOAD,
        "K1",
    )
    assert running.status is Status.RUNNING and running.lease_owner == floor.actor
    in_five_minutes = datetime.now(UTC) + timedelta(minutes=5)
    assert running.lease_expires is not None and running.lease_expires > in_five_minutes
    done = store.get(item_id)
    assert (done.status, done.attempts, done.lease_owner, done.result) == (Status.DONE, 1, None, {})
    assert done.version == 3 and done.updated_at >= submitted.created_at
    history = [(e.from_state, e.to_state, e.actor, e.queue) for e in store.events("item", item_id)]
    assert history == [
        (None, "pending", "intake", QUEUE),
        ("pending", "running", floor.actor, QUEUE),
        ("running", "done", floor.actor, QUEUE),
    ]
    assert store.counts()[QUEUE] == {"done": 1}


def test_the_floor_sets_sqlite_up_as_the_runtime_does(tmp_path: Path) -> None:
    assert durable_floor.SQLITE_PRAGMAS == engine.SQLITE_PRAGMAS
    assert durable_floor.LOG_RESTART_EVERY_WRITES == engine.LOG_RESTART_EVERY_WRITES
    assert durable_floor.LOG_RESTART_WAIT_MS == engine.LOG_RESTART_WAIT_MS
    url = f"sqlite:///{tmp_path / 'floor.db'}"
    upgrade(url)
    floor, store = FloorStore(url), Store(url)
    try:
        with store._write() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            runtime = [
                raw.execute(f"PRAGMA {p.partition('=')[0]}").fetchone()[0] for p in engine.SQLITE_PRAGMAS
            ]
        ours = [
            floor.conn.execute(f"PRAGMA {p.partition('=')[0]}").fetchone()[0] for p in engine.SQLITE_PRAGMAS
        ]
        assert ours == runtime == ["wal", 1, 10000, 1]
    finally:
        floor.close()
        store.dispose()
