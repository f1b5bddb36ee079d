"""The embedded broker's channel: oldest first, one listing per batch, a message goes to one consumer only."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from bots.runtime.embedded_broker import TRANSPORT


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for sub in ("queue", "processed", "control"):
        (tmp_path / sub).mkdir()
    return tmp_path


def connect(folder: Path) -> Connection:
    # (kombu keeps exchange bindings per process, not per folder: each test uses queue names of its own)
    return Connection(
        "filesystem://localhost//",
        transport=TRANSPORT,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


@pytest.fixture
def conn(folder: Path) -> Iterator[Connection]:
    with connect(folder) as c:
        yield c


def drain(queue: object) -> list[int]:
    got = []
    while True:
        try:
            message = queue.get(block=False)  # type: ignore[attr-defined]
        except Empty:
            return got
        got.append(message.payload)
        message.ack()


def test_messages_come_oldest_first_also_those_sent_after_a_listing(conn: Connection, folder: Path) -> None:
    queue = conn.SimpleQueue(f"items-{folder.name}")
    other = conn.SimpleQueue(f"other-{folder.name}")
    for n in range(5):
        queue.put(n)
    other.put("not mine")
    first = queue.get(block=False)
    assert first.payload == 0  # the listing now holds 1..4
    first.ack()
    queue.put(5)  # arrives after the listing
    assert drain(queue) == [1, 2, 3, 4, 5]
    assert drain(other) == ["not mine"]
    assert os.listdir(folder / "queue") == [] and os.listdir(folder / "processed") == []


def test_a_message_taken_by_another_consumer_is_skipped(conn: Connection, folder: Path) -> None:
    queue = conn.SimpleQueue(f"items-{folder.name}")
    for n in range(3):
        queue.put(n)
    assert queue.get(block=False).payload == 0  # listed 0, 1, 2
    with connect(folder) as second:
        taken = second.SimpleQueue(f"items-{folder.name}").get(block=False)
        assert taken.payload == 1  # taken behind the first's back
        taken.ack()  # (unacknowledged, it would go back into the folder when `second` closes)
    assert drain(queue) == [2]


def test_consumers_in_parallel_get_every_message_exactly_once(conn: Connection, folder: Path) -> None:
    queue = conn.SimpleQueue(f"items-{folder.name}")
    for n in range(400):
        queue.put(n)
    results: list[list[int]] = [[] for _ in range(4)]

    def consume(k: int) -> None:
        with connect(folder) as c:
            results[k] = drain(c.SimpleQueue(f"items-{folder.name}"))

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [n for got in results for n in got]
    assert sorted(taken) == list(range(400))
    assert all(got == sorted(got) for got in results)  # each consumer in send order
