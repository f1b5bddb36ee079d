"""Keyset paging: the operator API pages 100,000 items (and the clerks' cases) by the key of the last row,
never by OFFSET, so a far page costs what the first does; walked to the end, the pages give every item once,
in order — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bots.runtime.models import Role
from bots.runtime.ops_params import case_cursor
from bots.runtime.states import Status
from bots.runtime.store import ItemFilter, Store
from tests.integration.ops_world import Ops, handed_off, ops

__all__ = ["ops"]

TOTAL = 100_000
FAILED_EVERY = 7  # item n is failed when n % 7 == 0, else done
CASE_EVERY = 1000  # item n has a case when n % 1000 == 0: Kranken for even thousands, Leben for odd


def bulk_insert(store: Store) -> None:
    """100,000 items in one INSERT … SELECT over a number series, and a case for every thousandth."""
    if store.is_postgres:
        series = "SELECT n FROM generate_series(1, 100000) AS n"
        at = "(timestamptz '2026-11-01 00:00:00+00' + n * interval '1 second')"
        empty = "'{}'::json"
    else:
        series = (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) SELECT n FROM s"
        )
        at = "(strftime('%Y-%m-%d %H:%M:%S', '2026-11-01 00:00:00', '+' || n || ' seconds') || '.000000')"
        empty = "'{}'"
    status = f"CASE WHEN n % {FAILED_EVERY} = 0 THEN 'failed' ELSE 'done' END"
    items = (
        "INSERT INTO work_items (queue, reference, request_hash, customer_id, priority, status, attempts, "
        "max_attempts, payload, progress, version, created_at, updated_at, breaker_trial, dispatches) "
        f"SELECT 'echo', 'ref-' || n, 'h', 'K' || (n % 100), 0, {status}, 1, 3, {empty}, {empty}, 1, {at}, {at}, "
        f"false, 1 FROM ({series}) AS numbers"
    )
    unit = f"CASE WHEN (n / {CASE_EVERY}) % 2 = 0 THEN 'Kranken' ELSE 'Leben' END"
    cases = (
        "INSERT INTO cases (item_id, queue, unit, reason_code, note, status, due_at, version, created_at, "
        f"updated_at) SELECT n, 'echo', {unit}, 'check', '', 'resolved', {at}, 1, {at}, {at} "
        f"FROM ({series}) AS numbers WHERE n % {CASE_EVERY} = 0"
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql(items.replace("%", "%%") if store.is_postgres else items)
        conn.exec_driver_sql(cases.replace("%", "%%") if store.is_postgres else cases)


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store sends meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append(statement)
        if store.is_postgres:
            assert "OFFSET" not in statement.upper(), statement
            return
        # SQLAlchemy's SQLite dialect writes "LIMIT ? OFFSET ?" for every LIMIT, with an offset of 0
        before_placeholders = statement.split("?")[:-1]
        for k, text in enumerate(before_placeholders):
            if text.rstrip().upper().endswith("OFFSET"):
                assert list(parameters)[k] == 0, statement

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def walk(store: Store, matching: ItemFilter, limit: int) -> tuple[list[int], int]:
    """Every id the pages give, and how many pages there were."""
    ids: list[int] = []
    pages = 0
    before: int | None = None
    while True:
        page = store.item_page(matching, before_id=before, limit=limit)
        pages += 1
        ids += [i.id for i in page]
        if len(page) < limit:
            return ids, pages
        before = page[-1].id


def test_paging_100000_items_by_keyset(ops: Ops) -> None:
    store = ops.store
    bulk_insert(store)

    with statements(store) as sent:
        far = store.item_page(ItemFilter(), before_id=TOTAL - 999 * 100 + 1, limit=100)  # page 1,000 of 100
    (select,) = [s for s in sent if "FROM work_items" in s]
    assert (
        "work_items.id <" in select and "ORDER BY work_items.id DESC" in select and "LIMIT" in select.upper()
    )
    assert [i.id for i in far] == list(range(100, 0, -1))

    ids, pages = walk(store, ItemFilter(), 100)
    assert pages == 1001 and ids == list(range(TOTAL, 0, -1))  # page 1,000 holds 200..101, every id once

    failed, _ = walk(store, ItemFilter(statuses=(Status.FAILED,)), 500)
    assert failed == [n for n in range(TOTAL, 0, -1) if n % FAILED_EVERY == 0]

    chef, anna = ops.login("chef"), ops.login("anna")
    first = ops.client.get("/v1/ops/items?limit=100", headers=chef).json()
    assert [i["id"] for i in first["items"]] == list(range(TOTAL, TOTAL - 100, -1))
    with statements(store) as sent:
        page = ops.client.get(f"/v1/ops/items?limit=100&cursor={first['next_cursor']}", headers=chef).json()
    assert [i["id"] for i in page["items"]] == list(range(TOTAL - 100, TOTAL - 200, -1))
    assert [s for s in sent if "FROM work_items" in s]  # each checked to page by key, with no offset
    cursor = "301"  # the cursor the 999th page of 100 hands out
    deep = ops.client.get(f"/v1/ops/items?limit=100&cursor={cursor}", headers=chef).json()
    assert [i["id"] for i in deep["items"]] == list(range(300, 200, -1)) and deep["next_cursor"] == "201"
    last = ops.client.get("/v1/ops/items?limit=100&cursor=101", headers=chef).json()
    assert [i["id"] for i in last["items"]] == list(range(100, 0, -1)) and last["next_cursor"] is None

    # a clerk's pages: only the items with a case of their unit, walked by cursor to the end
    seen: list[int] = []
    url = "/v1/ops/items?limit=7&status=done&status=failed"
    while url:
        answer = ops.client.get(url, headers=anna).json()
        seen += [i["id"] for i in answer["items"]]
        url = (
            f"/v1/ops/items?limit=7&status=done&status=failed&cursor={answer['next_cursor']}"
            if answer["next_cursor"]
            else ""
        )
    assert seen == [n for n in range(TOTAL, 0, -1) if n % CASE_EVERY == 0 and (n // CASE_EVERY) % 2 == 0]


def test_paging_cases_by_due_date_and_id(ops: Ops) -> None:
    store = ops.store
    ops.add("kim", Role.CLERK, "Kranken", "Leben")
    for i in range(60):  # due times with ties (every one of 15 four times), two units
        handed_off(store, "Kranken" if i % 3 else "Leben", f"K{i}", due=timedelta(hours=1 + i % 15))
    with store.engine.begin() as conn:  # cases without a due date come last
        conn.execute(sa.text("UPDATE cases SET due_at = NULL WHERE id % 11 = 0"))
    every = store.cases(limit=1000)
    expected = sorted(every, key=lambda c: (c.due_at is None, c.due_at, c.id))

    headers = ops.login("kim")
    seen: list[int] = []
    url = "/v1/ops/cases?limit=7"
    with statements(store) as sent:
        while url:
            answer = ops.client.get(url, headers=headers).json()
            seen += [c["id"] for c in answer["cases"]]
            url = f"/v1/ops/cases?limit=7&cursor={answer['next_cursor']}" if answer["next_cursor"] else ""
    assert seen == [c.id for c in expected]
    assert [s for s in sent if "FROM cases" in s]  # each checked to page by key, with no offset

    kranken = [c.id for c in expected if c.unit == "Kranken"]
    anna = ops.login("anna")
    first = ops.client.get("/v1/ops/cases?limit=10", headers=anna).json()
    rest = ops.client.get(f"/v1/ops/cases?limit=100&cursor={first['next_cursor']}", headers=anna).json()
    assert [c["id"] for c in first["cases"] + rest["cases"]] == kranken
    # any cursor of the pattern is a key: after the last case with a due date come those without
    last_due = [c for c in expected if c.due_at is not None][-1]
    tail = ops.client.get(f"/v1/ops/cases?limit=100&cursor={case_cursor(last_due)}", headers=headers).json()
    assert [c["id"] for c in tail["cases"]] == [c.id for c in expected if c.due_at is None]
