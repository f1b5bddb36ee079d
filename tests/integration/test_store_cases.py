"""The clerk inbox reads cases with their notes in one SELECT, however many, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bots.runtime.errors import NotFound
from bots.runtime.models import Case
from bots.runtime.states import CaseStatus
from bots.runtime.store import Store

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Opened:
    id: int
    unit: str
    due_at: datetime
    notes: tuple[tuple[str, str], ...]  # (author, text) in the order they were added


def open_cases(store: Store, count: int, first: int = 0) -> list[Opened]:
    """`count` handed-off items with a case each: 0-3 notes, due times with ties, two units."""
    opened = []
    for i in range(first, first + count):
        item, _ = store.submit("echo", {"customer_id": "K1", "i": i}, customer_id="K1")
        claimed = store.claim(item.id, "worker", LEASE)
        assert claimed is not None
        unit = "Kranken" if i % 2 else "Leben"
        due = timedelta(hours=(i * 37) % 25 + 1)  # every due time twice among 50: ties go by case id
        _, case = store.hand_off(
            claimed, unit=unit, reason_code="check", note=f"case {i}", case_due=due, actor="worker"
        )
        # Same instant (the clock stands still) and texts that sort against insertion order: only the
        # note's id can give the order back.
        notes = tuple((f"clerk.{k}", f"{'zyx'[k]}: case {i}") for k in range(i % 4))
        for author, text in notes:
            store.add_case_note(case.id, author, text)
        opened.append(Opened(case.id, unit, store.now() + due, notes))
    return opened


def inbox_order(opened: list[Opened]) -> list[Opened]:
    return sorted(opened, key=lambda o: (o.due_at, o.id))


def shown(cases: list[Case]) -> list[tuple[int, tuple[tuple[str, str], ...]]]:
    return [(c.id, tuple((n.author, n.text) for n in c.notes)) for c in cases]


def expected(opened: list[Opened]) -> list[tuple[int, tuple[tuple[str, str], ...]]]:
    return [(o.id, o.notes) for o in opened]


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements `store` sends to its database while the block runs."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(store.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", before)


def selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


def test_inbox_reads_cases_and_notes_in_one_select(store: Store) -> None:
    opened = open_cases(store, 5)
    with statements(store) as seen:
        few = store.cases()
    assert len(selects(seen)) == 1, seen
    assert shown(few) == expected(inbox_order(opened))

    opened += open_cases(store, 45, first=5)
    with statements(store) as seen:
        many = store.cases()
    assert len(selects(seen)) == 1, seen
    assert [s for s in seen if not s.upper().startswith(("SELECT", "BEGIN"))] == []
    assert shown(many) == expected(inbox_order(opened))
    assert sum(len(c.notes) for c in many) == sum(i % 4 for i in range(50))


def test_limit_counts_cases_not_notes(store: Store) -> None:
    opened = open_cases(store, 50)
    with statements(store) as seen:
        page = store.cases(limit=7)
    assert len(selects(seen)) == 1
    assert shown(page) == expected(inbox_order(opened)[:7])
    assert any(len(c.notes) > 1 for c in page)


def test_filters_apply_to_cases_and_keep_all_their_notes(store: Store) -> None:
    opened = open_cases(store, 20)
    claimed = inbox_order(opened)[3]
    store.claim_case(claimed.id, "clerk.a")
    with statements(store) as seen:
        kranken = store.cases(units=["Kranken"], statuses=[CaseStatus.OPEN])
    assert len(selects(seen)) == 1
    want = [o for o in inbox_order(opened) if o.unit == "Kranken" and o.id != claimed.id]
    assert shown(kranken) == expected(want)
    assert store.cases(units=[]) == []
    (mine,) = store.cases(statuses=[CaseStatus.CLAIMED])
    assert (mine.id, mine.assignee, mine.status) == (claimed.id, "clerk.a", CaseStatus.CLAIMED)


def test_get_case_takes_the_same_single_select(store: Store) -> None:
    opened = open_cases(store, 8)
    for o in opened:
        with statements(store) as seen:
            case = store.get_case(o.id)
        assert len(selects(seen)) == 1
        assert shown([case]) == expected([o])
        assert case == next(c for c in store.cases() if c.id == o.id)
    with pytest.raises(NotFound):
        store.get_case(max(o.id for o in opened) + 1)
