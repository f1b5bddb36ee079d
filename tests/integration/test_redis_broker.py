"""The Redis broker (runtime/redis_broker.py): kombu's transport with one client per channel, on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from bots.runtime import redis_broker
from bots.runtime.clock import FixedClock
from bots.runtime.dispatch import CeleryDispatcher, configure
from bots.runtime.migrate import upgrade
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.conftest import REDIS_URL, empty_redis

pytestmark = pytest.mark.redis

REDIS_DB = 10
QUEUE = "echo"


@pytest.fixture
def broker_url() -> Iterator[str]:
    yield from empty_redis(REDIS_DB)


@pytest.fixture
def clients_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the redis-py clients built from now on."""
    built: list[int] = []
    build = redis.Redis.__init__

    def counted(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        build(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    return built


def celery_for(url: str, tmp_path: Path) -> Celery:
    return configure(Settings(data_dir=tmp_path / "var", broker_url=url, _env_file=None), Celery("rb-test"))


def test_items_sent_taken_and_acknowledged_build_one_client_per_channel(
    broker_url: str, tmp_path: Path, clients_built: list[int]
) -> None:
    db = f"sqlite:///{tmp_path / 'rb.db'}"
    upgrade(db)
    store = Store(db, FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
    celery = celery_for(broker_url, tmp_path)
    sent = []
    for n in range(20):
        item, _ = store.submit(QUEUE, {"customer_id": "K1"}, customer_id="K1", reference=str(n))
        CeleryDispatcher(celery).enqueue(item)
        sent.append(item.id)
    with celery.connection_for_read() as conn:
        assert isinstance(conn.transport, redis_broker.Transport)
        queue = conn.SimpleQueue(QUEUE, no_ack=False)
        taken = []
        for _ in sent:
            message = queue.get(timeout=5)
            taken.append(message.payload[0][0])  # the task's args: [item id]
            message.ack()
        queue.close()
    assert taken == sent  # each once, in order, none left behind
    assert redis.Redis.from_url(broker_url).llen(QUEUE) == 0
    assert len(clients_built) <= 6  # kombu's own channel: one per command (each send, take, ack)
    store.dispose()
    celery.close()


def test_other_redis_urls_keep_kombus_transport(tmp_path: Path) -> None:
    assert celery_for(f"{REDIS_URL}/{REDIS_DB}", tmp_path).conf.broker_transport == redis_broker.TRANSPORT
    for url in ("rediss://127.0.0.1:6380/0", "sentinel://127.0.0.1:26379"):
        assert celery_for(url, tmp_path).conf.broker_transport is None
