"""The clerk inbox reads cases with their notes in one SELECT, however many, and clerks resolve cases with the
resolutions their bot offers — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bots.runtime.bot import Bot, Registry
from bots.runtime.errors import (
    ConfigurationError,
    HandOff,
    InvalidTransition,
    NotFound,
    Reject,
    UnknownResolution,
)
from bots.runtime.item_view import case_view, load_operator_detail
from bots.runtime.models import (
    AUTHORITY_KEY,
    Case,
    ClerkAuthority,
    ItemError,
    Mail,
    Resolution,
    ResolutionOutcome,
    WorkItem,
)
from bots.runtime.resolutions import CLERK_REJECTED, DONE_MANUALLY, GENERIC_RESOLUTIONS, decide, find
from bots.runtime.states import CaseStatus, Status
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot

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


# ------------------------------------------------------------------ clerk resolutions

IBAN = "DE89370400440532013000"


def handed_off(store: Store, **payload: Any) -> Case:
    """A running echo item handed to Kranken: its open case."""
    item, _ = store.submit("echo", {"customer_id": "K1", **payload}, customer_id="K1")
    claimed = store.claim(item.id, "worker", LEASE)
    assert claimed is not None
    _, case = store.hand_off(
        claimed,
        unit="Kranken",
        reason_code="dunning_active",
        note="Mahnverfahren",
        case_due=LEASE,
        actor="worker",
    )
    return case


def snapshot(store: Store, case: Case) -> tuple[Any, ...]:
    """Everything a resolution may change."""
    item = store.get(case.item_id)
    return (
        store.get_case(case.id),
        item,
        store.events("item", item.id),
        store.events("case", case.id),
        store.outbox(),
    )


@pytest.fixture
def registry() -> Registry:
    return Registry([EchoBot()])


def test_echo_offers_the_generic_resolutions_and_apply_anyway() -> None:
    assert [r.code for r in EchoBot.resolutions] == ["done_manually", "reject", "back_to_bot", "apply_anyway"]
    assert Bot.resolutions == GENERIC_RESOLUTIONS
    assert all(r.title for r in EchoBot.resolutions)


def test_done_manually(store: Store, registry: Registry) -> None:
    case = handed_off(store)
    store.claim_case(case.id, "clerk.a")
    resolved, item = decide(store, registry, case.id, "clerk.a", "done_manually")
    assert (resolved.status, resolved.resolution, resolved.assignee) == (
        CaseStatus.RESOLVED,
        "done_manually",
        "clerk.a",
    )
    assert resolved.notes == ()  # no note given, none kept
    assert item.status == Status.DONE and item.error is None and AUTHORITY_KEY not in item.progress
    last = store.events("item", item.id)[-1]
    assert (last.actor, last.from_state, last.to_state) == ("clerk.a", "handed_off", "done")
    assert last.reason == f"case {case.id}: done_manually"
    assert store.outbox() == []


def test_reject_leaves_one_postfach_message_written_with_the_resolution(
    store: Store, registry: Registry
) -> None:
    case = handed_off(store)
    with statements_and_commits(store) as seen:
        resolved, item = decide(
            store, registry, case.id, "clerk.b", "reject", f"Mahnverfahren läuft; Konto {IBAN}"
        )
    masked = "Mahnverfahren läuft; Konto DE89 **** **** **** **30 00"
    assert item.status == Status.REJECTED
    assert item.error == ItemError("reject", CLERK_REJECTED, masked)
    assert item.result == {"customer_message": masked}
    (mail,) = store.outbox()
    assert mail.mail.subject == f"Echo {item.id} abgelehnt" and mail.mail.to == "K1@postfach.portalbots.test"
    assert masked in mail.mail.body and IBAN not in mail.mail.body
    assert [(n.author, n.text) for n in resolved.notes] == [("clerk.b", f"Mahnverfahren läuft; Konto {IBAN}")]
    # the message, the case and the item are written in one transaction
    (writing,) = [chunk for chunk in seen if any(s.startswith("INSERT INTO outbox") for s in chunk)]
    assert any(s.startswith("UPDATE cases") for s in writing)
    assert any(s.startswith("UPDATE work_items") for s in writing)
    assert IBAN not in str(store.events("item", item.id)) + str(store.events("case", case.id))


def test_back_to_the_bot(store: Store, registry: Registry, clock: Any) -> None:
    case = handed_off(store)
    _, item = decide(store, registry, case.id, "clerk.a", "back_to_bot", "Mahnverfahren beendet")
    assert item.status == Status.PENDING and item.attempts == 0
    assert AUTHORITY_KEY not in item.progress
    assert [i.id for i in store.due_for_redispatch()] == [item.id]  # sent at housekeeping's next round


def test_apply_anyway_gives_the_rerun_the_clerks_authority(store: Store, registry: Registry) -> None:
    case = handed_off(store)
    resolved, item = decide(store, registry, case.id, "clerk.a", "apply_anyway", "Kunde hat bezahlt")
    assert resolved.resolution == "apply_anyway"
    assert item.status == Status.PENDING and item.attempts == 0
    assert ClerkAuthority.of(item.progress) == ClerkAuthority("clerk.a", case.id, "apply_anyway", store.now())
    (event,) = [e for e in store.events("case", case.id) if e.to_state == "resolved"]
    assert event.actor == "clerk.a" and event.reason == "resolved: apply_anyway"
    assert event.detail == {
        "item_id": item.id,
        "resolution": "apply_anyway",
        "outcome": "rerun",
        "with_authority": True,
        "note": "Kunde hat bezahlt",
    }
    last = store.events("item", item.id)[-1]
    assert last.actor == "clerk.a" and last.reason == f"case {case.id}: apply_anyway (Kunde hat bezahlt)"
    detail = load_operator_detail(store, item.id, registry)
    assert detail["clerk_authority"]["clerk"] == "clerk.a" and detail["clerk_authority"]["case_id"] == case.id
    assert detail["cases"][0]["resolution_title"] == "Trotzdem ausführen"
    assert detail["cases"][0]["resolutions"] == []  # decided: nothing on offer any more


def test_an_open_case_shows_the_resolutions_its_bot_offers(store: Store, registry: Registry) -> None:
    case = handed_off(store, text=IBAN)
    store.add_case_note(case.id, "clerk.a", f"Konto {IBAN}")
    detail = load_operator_detail(store, case.item_id, registry)
    (shown_case,) = detail["cases"]
    assert [(r["code"], r["title"]) for r in shown_case["resolutions"]] == [
        ("done_manually", "Manuell erledigt"),
        ("reject", "Ablehnen"),
        ("back_to_bot", "Zurück an den Bot"),
        ("apply_anyway", "Trotzdem ausführen"),
    ]
    assert shown_case["resolutions"][3]["with_authority"] and shown_case["resolutions"][1]["needs_note"]
    assert detail["clerk_authority"] is None and IBAN not in str(detail)
    assert case_view(case, EchoBot.resolutions)["resolutions"] == shown_case["resolutions"]
    assert load_operator_detail(store, case.item_id)["cases"][0]["resolutions"] == []  # no registry: unknown


def test_an_unknown_resolution_changes_nothing_and_names_the_valid_ones(
    store: Store, registry: Registry
) -> None:
    case = handed_off(store)
    before = snapshot(store, case)
    with pytest.raises(UnknownResolution, match="valid: done_manually, reject, back_to_bot, apply_anyway"):
        decide(store, registry, case.id, "clerk.a", "approve", "ok")
    assert snapshot(store, case) == before


def test_a_resolution_that_needs_a_note_is_refused_without_one(store: Store, registry: Registry) -> None:
    case = handed_off(store)
    before = snapshot(store, case)
    for code in ("reject", "apply_anyway"):
        with pytest.raises(ValueError, match="needs a note"):
            decide(store, registry, case.id, "clerk.a", code, "  ")
        with pytest.raises(ValueError, match="needs a note"):
            store.resolve_case(case.id, "clerk.a", find(EchoBot(), code), "")
    assert snapshot(store, case) == before


def test_a_case_claimed_by_another_clerk_is_refused(store: Store, registry: Registry) -> None:
    case = handed_off(store)
    store.claim_case(case.id, "clerk.a")
    before = snapshot(store, case)
    for code in ("reject", "apply_anyway", "done_manually"):
        with pytest.raises(InvalidTransition, match=r"claimed by clerk\.a"):
            decide(store, registry, case.id, "clerk.b", code, "meins")
    assert snapshot(store, case) == before  # no message either
    decide(store, registry, case.id, "clerk.a", "done_manually")


def test_a_case_is_resolved_once(store: Store, registry: Registry) -> None:
    case = handed_off(store)
    decide(store, registry, case.id, "clerk.a", "back_to_bot")
    before = snapshot(store, case)
    with pytest.raises(InvalidTransition):
        decide(store, registry, case.id, "clerk.a", "reject", "doch nicht")
    assert snapshot(store, case) == before  # and the rejection's message was not written


def test_a_notice_that_cannot_be_written_leaves_the_case_open(store: Store) -> None:
    class BrokenNotice(EchoBot):
        def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
            raise KeyError("customer_id")

    case = handed_off(store)
    before = snapshot(store, case)
    with pytest.raises(KeyError):
        decide(store, Registry([BrokenNotice()]), case.id, "clerk.a", "reject", "nein")
    assert snapshot(store, case) == before


def test_the_store_takes_a_resolution_not_a_state(store: Store) -> None:
    case = handed_off(store)
    with pytest.raises(TypeError, match="takes a Resolution"):
        store.resolve_case(case.id, "clerk.a", Status.DONE, "ok")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        ((Resolution("Apply", "Trotzdem", ResolutionOutcome.RERUN),), "needs a code like"),
        ((Resolution("apply", " ", ResolutionOutcome.RERUN),), "needs a code like"),
        (
            (Resolution("done", "Erledigt", ResolutionOutcome.DONE, with_authority=True),),
            "only a rerun carries",
        ),
        ((Resolution("no", "Ablehnen", ResolutionOutcome.REJECTED),), "needs a note"),
        ((DONE_MANUALLY, DONE_MANUALLY), "two resolutions"),
        ((), "at least one"),
        (("done_manually",), "must be Resolution objects"),
    ],
)
def test_a_bot_declaring_resolutions_no_clerk_could_use_is_refused(
    declared: tuple[Any, ...], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        type("Odd", (EchoBot,), {"resolutions": declared})


@contextmanager
def statements_and_commits(store: Store) -> Iterator[list[list[str]]]:
    """The SQL statements `store` sends while the block runs, one list per transaction."""
    chunks: list[list[str]] = [[]]

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        chunks[-1].append(" ".join(statement.split()))

    def commit(_conn: Any) -> None:
        chunks.append([])

    sa.event.listen(store.engine, "before_cursor_execute", before)
    sa.event.listen(store.engine, "commit", commit)
    try:
        yield chunks
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", before)
        sa.event.remove(store.engine, "commit", commit)
