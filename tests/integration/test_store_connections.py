"""PostgreSQL connections, pooled or kept between changes (store/kept.py): checked only after lying idle,
renewed when the server dropped them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bots.runtime.clock import FixedClock
from bots.runtime.errors import StoreUnavailable
from bots.runtime.states import Status
from bots.runtime.store import Store, engine
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres


def drop_connections(store: Store) -> int:
    """End the server side of every connection to the store's database but this one (as a restart would)."""
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": store.engine.url.database},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.fixture
def pg_store(pg_database: str, clock: FixedClock) -> Store:
    return Store(pg_database, clock)


def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    item, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    assert drop_connections(pg_store) >= 1
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    assert pg_store.get(item.id).id == item.id
    pg_store.dispose()


def test_a_connection_dropped_in_steady_use_fails_once_then_the_pool_is_renewed(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    item, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    pg_store.get(item.id)  # a read: its connection goes back to the pool
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never idle long enough for a check
    assert drop_connections(pg_store) >= 1
    with pytest.raises(StoreUnavailable):
        pg_store.get(item.id)
    assert pg_store.get(item.id).id == item.id
    pg_store.dispose()


def test_a_kept_connection_dropped_while_idle_is_replaced_unnoticed(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-statement change (a claim) goes through a connection the store keeps (store/kept.py)."""
    first, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="idle-1")
    second, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="idle-2")
    assert drop_connections(pg_store) >= 1
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert pg_store.claim(first.id, "w", timedelta(minutes=1)) is not None
    assert pg_store.claim(second.id, "w", timedelta(minutes=1)) is not None
    pg_store.dispose()


def test_a_kept_connection_dropped_in_steady_use_fails_once_then_is_renewed(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    item, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 3600.0)
    assert drop_connections(pg_store) >= 1
    with pytest.raises(StoreUnavailable):
        pg_store.claim(item.id, "w", timedelta(minutes=1))
    claimed = pg_store.claim(item.id, "w", timedelta(minutes=1))
    assert claimed is not None and claimed.attempts == 1  # the failed claim changed nothing
    pg_store.dispose()


def test_one_statement_changes_reuse_a_kept_connection(pg_store: Store) -> None:
    taken: list[int] = []
    sa.event.listen(pg_store.engine, "checkout", lambda *_: taken.append(1))
    for n in range(5):
        item, _ = pg_store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference=f"reuse-{n}")
        claimed = pg_store.claim(item.id, "w", timedelta(minutes=1))
        assert claimed is not None
        pg_store.finish(claimed, Status.DONE, actor="w", reason="done", result={})
    assert len(taken) == 1
    pg_store.dispose()
