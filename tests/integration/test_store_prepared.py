"""The hot path's prepared statements (store/prepared.py) read and write exactly what SQLAlchemy would."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bots.runtime import schema as t
from bots.runtime.clock import FixedClock
from bots.runtime.errors import StoreUnavailable
from bots.runtime.models import ItemError
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store, engine, prepared
from tests.integration.test_store_connections import drop_connections

BY_ID = sa.select(t.items).where(t.items.c.id == sa.bindparam("p_id"))
SET_TRIAL = sa.update(t.items).where(t.items.c.id == sa.bindparam("p_id")).values(breaker_trial=True)


def test_a_row_read_prepared_is_the_row_sqlalchemy_reads(store: Store, clock: FixedClock) -> None:
    """Every kind of column, none of them empty: datetimes with their zone, JSON, a boolean, text."""
    payload = {"customer_id": "K1", "names": ["Jörg Übel", "José"], "nested": {"n": 1.5, "none": None}}
    item, _ = store.submit("echo", payload, customer_id="K1", priority=3, due_in=timedelta(hours=4))
    claimed = store.claim(item.id, "worker-1", timedelta(seconds=90))
    assert claimed is not None
    error = ItemError("system", "sandbox_down", "Die Policenverwaltung antwortet nicht", "Traceback …")
    deferred = store.finish(
        claimed,
        Status.DEFERRED,
        actor="worker-1",
        reason="geschlossen",
        result={"postfach": ["a.pdf"]},
        error=error,
        not_before=clock.now() + timedelta(days=2),
        defer_reason=DeferReason.SERVICE_WINDOW,
    )
    with store.engine.begin() as conn:
        prepared.one_or_none(conn, SET_TRIAL, {"p_id": item.id})
        ours = prepared.one_or_none(conn, BY_ID, {"p_id": item.id})
        theirs = conn.execute(BY_ID, {"p_id": item.id}).one()
    assert ours is not None
    assert ours._fields == tuple(theirs._fields)
    assert tuple(ours) == tuple(theirs)
    assert ours.breaker_trial is True and ours.payload == payload
    assert deferred.error == error and deferred.not_before is not None
    assert store.get(item.id) == replace(deferred, breaker_trial=True)


def sqlalchemys_arguments(statement: Any, dialect: Any, params: dict[str, Any]) -> Any:
    """What SQLAlchemy gives the driver for `statement` with `params`: construct_params, then each type's
    bind processor, in the driver's order."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(params))
    values = compiled.construct_params(params)
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[name] = process(values[name])
    return tuple(values[name] for name in compiled.positiontup) if compiled.positional else values


def test_every_statement_of_an_items_life_gets_the_arguments_sqlalchemy_would_give(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[tuple[Any, dict[str, Any]]] = []
    one_or_none = prepared.one_or_none

    def noting(conn: Any, statement: Any, params: dict[str, Any]) -> Any:
        ran.append((statement, params))
        return one_or_none(conn, statement, params)

    monkeypatch.setattr(prepared, "one_or_none", noting)
    item, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1", due_in=timedelta(hours=1))
    claimed = store.claim(item.id, "worker-1", timedelta(seconds=90))
    assert claimed is not None
    store.finish(claimed, Status.DONE, actor="worker-1", reason="done", result={"ok": True})
    assert len(ran) >= 3
    dialect = store.engine.dialect
    for statement, params in ran:
        ours = prepared._prepare(statement, dialect, tuple(sorted(params))).arguments(params)
        assert comparable(ours) == comparable(sqlalchemys_arguments(statement, dialect, params))


def comparable(arguments: Any) -> Any:
    """psycopg's JSON wrapper compares by identity: its content instead."""
    if isinstance(arguments, dict):
        return {key: _unwrapped(value) for key, value in arguments.items()}
    return tuple(_unwrapped(value) for value in arguments)


def _unwrapped(value: Any) -> Any:
    return ("json", value.obj) if type(value).__name__ == "Json" else value


def test_no_row_is_none(store: Store) -> None:
    with store.engine.begin() as conn:
        assert prepared.one_or_none(conn, BY_ID, {"p_id": 999_999}) is None


def test_a_refused_statement_raises_as_sqlalchemy_would(store: Store) -> None:
    item, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    again = sa.insert(t.items).values(id=sa.bindparam("p_id"), queue="echo").returning(t.items.c.id)
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        prepared.one_or_none(conn, again, {"p_id": item.id})
    assert store.get(item.id) == item  # the transaction rolled back, the item as it was


def test_a_missing_parameter_is_named(store: Store) -> None:
    with pytest.raises(sa.exc.InvalidRequestError, match="p_id"), store.engine.begin() as conn:
        prepared.one_or_none(conn, BY_ID, {})


@pytest.mark.postgres
def test_a_prepared_statement_on_a_dropped_connection_fails_once_then_the_pool_is_renewed(
    pg_database: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submit is a prepared statement: the driver's error is SQLAlchemy's, so StoreUnavailable, and the
    connection it found dead is not handed out again, nor any other of the same pool."""
    store = Store(pg_database, clock)
    try:
        first, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
        with store.engine.connect(), store.engine.connect():
            pass  # two connections in the pool, both about to be dropped
        monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never idle long enough for a check
        assert drop_connections(store) >= 2
        with pytest.raises(StoreUnavailable):
            store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="after-restart")
        again, created = store.submit(
            "echo", {"customer_id": "K1"}, customer_id="K1", reference="after-restart"
        )
        assert created and again.id > first.id
        assert store.get(first.id).id == first.id
    finally:
        store.dispose()


def test_an_items_end_seen_by_the_worker_is_the_stored_one(store: Store, clock: FixedClock) -> None:
    """finish returns the row its prepared statement returned: the same item a later read gives."""
    item, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    claimed = store.claim(item.id, "worker-1", timedelta(seconds=90))
    assert claimed is not None and claimed.lease_expires is not None
    assert claimed.lease_expires.tzinfo is not None and claimed.lease_expires > datetime(
        2000, 1, 1, tzinfo=UTC
    )
    done = store.finish(claimed, Status.DONE, actor="worker-1", reason="done", result={"ok": True})
    assert store.get(item.id) == done
