"""Housekeeping's and the workers' searches among the items of one state read only that state's items, on each
database, however many items ended: through the state's partial index where it has one (schema.py), else by
ix_work_items_status_id; the operators' figures of items done read only the events of items done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bots.runtime import schema as t
from bots.runtime.clock import FixedClock
from bots.runtime.store import Store

QUEUE = "echo"


@pytest.fixture
def filled(store: Store, clock: FixedClock) -> Store:
    """300 items: most done, a few of each state the searches look for."""
    for n in range(300):
        store.submit(QUEUE, {"n": n}, customer_id="K1", reference=f"r{n}")
    now = store.now()
    ids = t.items.c.id
    with store._write() as conn:
        conn.execute(sa.update(t.items).where(ids > 20).values(status="done", redispatch_at=None))
        conn.execute(
            sa.update(t.items)
            .where(ids.between(1, 5))
            .values(status="running", lease_owner="w", lease_expires=now - timedelta(minutes=1))
        )
        conn.execute(
            sa.update(t.items)
            .where(ids.between(6, 10))
            .values(status="deferred", not_before=now - timedelta(minutes=1))
        )
    clock.advance(timedelta(minutes=5))  # the pending ones are due to be sent again
    return store


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The statements but inserts `store` runs through SQLAlchemy meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not statement.lstrip().upper().startswith("INSERT"):
            seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)


def plan(store: Store, statement: str, parameters: Any) -> str:
    """The planner's plan for `statement`; on PostgreSQL with sequential scans made the last resort, so a
    small table shows which index the query could use."""
    with store.engine.connect() as conn:
        if store.is_postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
            return "\n".join(rows)
        got = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return "\n".join(str(row[-1]) for row in got)


BY_STATUS = "ix_work_items_status_id"
PENDING, DEFERRED = "ix_work_items_claim", "ix_work_items_deferred"  # the states' partial indexes
# each search, and the partial index of the state it searches (None: the state has none)
SEARCHES: dict[str, tuple[Callable[[Store], object], str | None]] = {
    "claim_next": (lambda s: s.claim_next(QUEUE, "w2", timedelta(minutes=5)), PENDING),
    "release_due": (lambda s: s.release_due(), DEFERRED),
    "due_for_redispatch": (lambda s: s.due_for_redispatch(), PENDING),
    "reap_expired": (lambda s: s.reap_expired(), None),
}


@pytest.mark.parametrize("search", list(SEARCHES))
def test_a_search_among_one_state_reads_only_that_states_items(filled: Store, search: str) -> None:
    call, partial = SEARCHES[search]
    with statements(filled) as seen:
        assert call(filled)  # it found something: the search ran for real
    searching = [
        (sql, params) for sql, params in seen if "work_items" in sql and "WHERE work_items.id =" not in sql
    ]
    assert searching, f"{search} ran no search on work_items"
    sql, params = searching[0]
    found = plan(filled, sql, params)
    if filled.is_postgres:
        assert any(f"using {index} on work_items" in found for index in (partial, BY_STATUS) if index), found
        assert "Seq Scan on work_items" not in found, f"{search} reads the whole table:\n{found}"
    else:  # SQLite without statistics often prefers the state's equality in BY_STATUS: the same items
        assert (partial is not None and partial in found) or f"{BY_STATUS} (status=?)" in found, found
        assert "SCAN work_items\n" not in found + "\n", f"{search} reads the whole table:\n{found}"


def test_the_done_figures_read_only_the_events_of_items_done(filled: Store) -> None:
    with statements(filled) as seen:
        hour_ago = filled.now() - timedelta(hours=1)
        filled.done_counts(hour_ago)
        filled.queue_figures([QUEUE], day_start=hour_ago, recent_since=hour_ago)
    figures = [(sql, params) for sql, params in seen if "FROM events" in sql and "to_state" in sql]
    assert len(figures) == 2
    for sql, params in figures:
        found = plan(filled, sql, params)
        assert "ix_events_done_at" in found, f"{sql}\n{found}"
