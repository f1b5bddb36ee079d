"""The runtime end to end in one process, on SQLite and PostgreSQL: outcomes, deferrals, retries, cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bots.runtime.bot import Registry
from bots.runtime.clock import FixedClock
from bots.runtime.context import Context
from bots.runtime.errors import (
    HandOff,
    IdempotencyConflict,
    InvalidTransition,
    Reject,
    StaleVersion,
    SystemUnavailable,
)
from bots.runtime.maintenance import tick
from bots.runtime.middleware import LeaseKeeper
from bots.runtime.models import AUTHORITY_KEY, ClerkAuthority, Mail, WorkItem
from bots.runtime.resolutions import BACK_TO_BOT, DONE_MANUALLY, REJECT, decide
from bots.runtime.runner import Runner
from bots.runtime.settings import Settings, SystemHours
from bots.runtime.states import CaseStatus, DeferReason, Status
from bots.runtime.store import Store, Upload
from tests.bots_for_tests import EchoBot, Recorder

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        service_hours="mon-fri 07:00-19:00",
        smtp_port=1,  # nothing listens: alert mails fail softly
        retry_base_seconds=30,
        breaker_threshold=3,
        lease_seconds=60,
    )


@pytest.fixture
def runner(store: Store, settings: Settings, clock: FixedClock) -> Runner:
    return Runner(store, Registry([EchoBot()]), settings, clock, middleware=[], rng=random.Random(1))


def submit(store: Store, action: str = "ok", **kw: object) -> WorkItem:
    item, created = store.submit(
        "echo", {"customer_id": "K1", "action": action, **kw}, customer_id="K1", max_attempts=3
    )
    assert created
    return item


def transitions(store: Store, item_id: int) -> list[tuple[str | None, str | None]]:
    return [(e.from_state, e.to_state) for e in store.events("item", item_id)]


def test_submit_run_done(store: Store, runner: Runner) -> None:
    item = submit(store, text="hallo")
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE
    assert done.result == {"echo": "hallo"}
    assert done.lease_owner is None and done.attempts == 1
    assert transitions(store, item.id) == [(None, "pending"), ("pending", "running"), ("running", "done")]
    assert runner.run(item.id) is None  # a duplicate delivery does nothing


def test_reject_is_terminal_with_customer_message(store: Store, runner: Runner) -> None:
    item = submit(store, "reject")
    out = runner.run(item.id)
    assert out is not None and out.status == Status.REJECTED
    assert out.error is not None and out.error.code == "test_rule"
    assert out.result == {"customer_message": "Das geht leider nicht."}
    with pytest.raises(InvalidTransition):
        store.change_status(item.id, Status.PENDING, actor="op", reason="try")


def test_a_refused_or_handed_off_request_leaves_one_message_for_the_customer(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    refused, handed, done = submit(store, "reject"), submit(store, "handoff"), submit(store, "ok")
    for item in (refused, handed, done):
        runner.run(item.id)
        assert runner.run(item.id) is None  # a second delivery of the message changes nothing
    mails = sorted((m.mail.to, m.mail.subject) for m in store.outbox())
    assert mails == sorted(
        [
            ("K1@postfach.portalbots.test", f"Echo {refused.id} abgelehnt"),
            ("K1@postfach.portalbots.test", f"Echo {handed.id} an Sachbearbeitung"),
        ]
    )


def test_a_notice_that_cannot_be_written_is_a_system_error(store: Store, runner: Runner) -> None:
    class BrokenNotice(EchoBot):
        def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
            raise KeyError("customer_id")

    runner.registry = Registry([BrokenNotice()])
    out = runner.run(submit(store, "reject").id)
    assert out is not None and out.status == Status.DEFERRED and out.defer_reason == DeferReason.RETRY_BACKOFF
    assert store.outbox() == []


def test_hand_off_opens_a_case_and_the_clerk_decides(store: Store, runner: Runner, clock: FixedClock) -> None:
    item = submit(store, "handoff")
    out = runner.run(item.id)
    assert out is not None and out.status == Status.HANDED_OFF
    (case,) = store.cases(units=["Kranken"])
    assert (case.item_id, case.unit, case.reason_code, case.status) == (
        item.id,
        "Kranken",
        "dunning_active",
        "open",
    )
    assert case.due_at == clock.now() + EchoBot.case_sla
    assert store.cases(units=["Leben"]) == []
    store.claim_case(case.id, "clerk.a")
    with pytest.raises(InvalidTransition):
        store.resolve_case(case.id, "clerk.b", DONE_MANUALLY, "not mine")
    store.add_case_note(case.id, "clerk.a", "Kunde angerufen")
    case, item2 = store.resolve_case(case.id, "clerk.a", REJECT, "Mahnverfahren läuft; Kunde informiert")
    assert case.status == CaseStatus.RESOLVED and case.resolution == "reject"
    assert [n.text for n in case.notes] == ["Kunde angerufen", "Mahnverfahren läuft; Kunde informiert"]
    assert item2.status == Status.REJECTED
    assert [e.to_state for e in store.events("case", case.id)] == ["open", "claimed", "claimed", "resolved"]


def test_clerk_sends_item_back_to_the_bot(store: Store, runner: Runner) -> None:
    item = submit(store, "handoff")
    runner.run(item.id)
    (case,) = store.cases()
    _, back = store.resolve_case(case.id, "clerk.a", BACK_TO_BOT, "Mahnverfahren beendet")
    assert back.status == Status.PENDING and back.attempts == 0


def test_system_error_retries_with_backoff_then_fails(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    item = submit(store, "error")
    delays = []
    for attempt in (1, 2):
        out = runner.run(item.id)
        assert (
            out is not None
            and out.status == Status.DEFERRED
            and out.defer_reason == DeferReason.RETRY_BACKOFF
        )
        assert (
            out.error is not None
            and out.error.kind == "system"
            and "Traceback" in (out.error.traceback or "")
        )
        assert f"boom on attempt {attempt}" in out.error.message
        delays.append((out.not_before - clock.now()).total_seconds())
        assert store.release_due() == []  # not due yet
        clock.set(out.not_before)
        (released,) = store.release_due()
        assert released.status == Status.PENDING
    # exponential with ±20 % jitter: about 30 s, then about 60 s
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    out = runner.run(item.id)
    assert out is not None and out.status == Status.FAILED and out.attempts == 3
    retried = store.change_status(item.id, Status.PENDING, actor="op", reason="fixed", reset_attempts=True)
    assert retried.attempts == 0
    store.change_status(
        item.id,
        Status.DEFERRED,
        actor="op",
        reason="later",
        defer_reason=DeferReason.POSTPONED,
        not_before=clock.now() + timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("local_now", "expected_local"),
    [
        (berlin(2026, 11, 28, 23, 0), berlin(2026, 11, 30, 7, 0)),  # Saturday 23:00 -> Monday
        (
            berlin(2026, 12, 24, 10, 0),
            berlin(2026, 12, 28, 7, 0),
        ),  # Christmas Eve (closing day), 25/26 holidays
        (berlin(2026, 3, 29, 12, 0), berlin(2026, 3, 30, 7, 0)),  # last Sunday of March: +02:00 on Monday
        (berlin(2026, 10, 25, 2, 30), berlin(2026, 10, 26, 7, 0)),  # last Sunday of October: +01:00 on Monday
        (berlin(2026, 11, 24, 19, 0), berlin(2026, 11, 25, 7, 0)),  # Tuesday, just after closing
    ],
)
def test_closed_window_defers_to_the_exact_next_opening(
    store: Store, runner: Runner, clock: FixedClock, local_now: datetime, expected_local: datetime
) -> None:
    clock.set(local_now)
    item = submit(store)
    out = runner.run(item.id)
    assert out is not None and out.status == Status.DEFERRED
    assert out.defer_reason == DeferReason.SERVICE_WINDOW
    assert out.not_before == expected_local.astimezone(UTC)
    assert out.attempts == 0  # a closed window uses no attempt
    clock.set(expected_local - timedelta(seconds=1))
    assert store.release_due() == []
    clock.set(expected_local)
    assert [i.id for i in store.release_due()] == [item.id]
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE and done.attempts == 1


def test_precheck_rejects_at_once_at_any_hour(store: Store, runner: Runner, clock: FixedClock) -> None:
    """A request-only rule refuses on Saturday night without waiting for Monday's opening."""
    clock.set(berlin(2026, 11, 28, 23, 0))
    item = submit(store, "precheck_reject")
    out = runner.run(item.id)
    assert out is not None and out.status == Status.REJECTED and out.not_before is None
    assert out.error is not None and out.error.code == "request_rule"
    assert transitions(store, item.id) == [(None, "pending"), ("pending", "running"), ("running", "rejected")]


def test_each_target_system_has_its_own_calendar(store: Store, settings: Settings, clock: FixedClock) -> None:
    """A bot gated by two systems waits for the later opening; a system without its own hours keeps the default."""

    class TwoSystems(EchoBot):
        systems = ("policy_admin", "mail_gateway")

    own = settings.model_copy(
        update={
            "systems": {"mail_gateway": SystemHours(service_hours="mon-fri 09:00-17:00", closing_days="")}
        }
    )
    runner = Runner(store, Registry([TwoSystems()]), own, clock, middleware=[], rng=random.Random(1))
    assert runner.calendar("policy_admin").is_open(berlin(2026, 11, 24, 8, 0))
    assert not runner.calendar("mail_gateway").is_open(berlin(2026, 11, 24, 8, 0))
    assert runner.calendar("mail_gateway").is_open(berlin(2026, 12, 24, 10, 0))  # no closing days of its own
    assert not runner.calendar("policy_admin").is_open(berlin(2026, 12, 24, 10, 0))

    clock.set(berlin(2026, 11, 24, 8, 0))  # policy administration open, mail gateway not yet
    out = runner.run(submit(store).id)
    assert out is not None and out.status == Status.DEFERRED
    assert out.not_before == berlin(2026, 11, 24, 9, 0).astimezone(UTC)
    assert transitions(store, out.id)[-1] == ("running", "deferred")
    assert "mail_gateway" in store.events("item", out.id)[-1].reason


def test_system_unavailable_defers_without_using_an_attempt(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    item = submit(store, "unavailable")
    out = runner.run(item.id)
    assert (
        out is not None and out.status == Status.DEFERRED and out.defer_reason == DeferReason.SERVICE_WINDOW
    )
    assert out.attempts == 0
    assert out.not_before == clock.now() + timedelta(seconds=30)


def test_idempotency_key(store: Store) -> None:
    a, created_a = store.submit("echo", {"customer_id": "K1"}, reference="key-1")
    b, created_b = store.submit("echo", {"customer_id": "K1"}, reference="key-1")
    assert created_a and not created_b and a.id == b.id
    with pytest.raises(IdempotencyConflict):
        store.submit("echo", {"customer_id": "K2"}, reference="key-1")
    c, _ = store.submit("other", {"customer_id": "K1"}, reference="key-1")  # unique per queue
    assert c.id != a.id


def test_uploads_are_stored_with_the_item(store: Store) -> None:
    item, _ = store.submit(
        "echo", {"customer_id": "K1"}, uploads=[Upload("a.pdf", "application/pdf", b"%PDF-1")]
    )
    (art,) = store.artifacts(item.id)
    assert (art.filename, art.kind, art.size) == ("a.pdf", "upload", 6)
    assert store.artifact_bytes(art.id)[1] == b"%PDF-1"
    again = store.add_artifact(item.id, b"%PDF-1", "application/pdf", "a.pdf", "upload")
    assert again.id == art.id  # content-addressed, stored once


def test_claim_order_priority_due_age(store: Store, runner: Runner) -> None:
    low, _ = store.submit("echo", {"customer_id": "K", "text": "low"}, due_in=timedelta(hours=1))
    late, _ = store.submit(
        "echo", {"customer_id": "K", "text": "late"}, due_in=timedelta(hours=5), priority=5
    )
    soon, _ = store.submit(
        "echo", {"customer_id": "K", "text": "soon"}, due_in=timedelta(hours=2), priority=5
    )
    order = [runner.run_next("echo").id for _ in range(3)]  # type: ignore[union-attr]
    assert order == [soon.id, late.id, low.id]
    assert runner.run_next("echo") is None


def test_expired_lease_is_reaped_and_counted(store: Store, clock: FixedClock) -> None:
    item = submit(store)
    claimed = store.claim(item.id, "w1", timedelta(seconds=60))
    assert claimed is not None and store.claim(item.id, "w2", timedelta(seconds=60)) is None
    assert store.reap_expired() == []
    clock.advance(timedelta(seconds=61))
    (reaped,) = store.reap_expired()
    assert reaped.status == Status.PENDING and reaped.attempts == 1
    assert reaped.error is not None and reaped.error.kind == "lease_expired"
    with pytest.raises(StaleVersion):  # the dead worker's late outcome is refused
        store.finish(claimed, Status.DONE, actor="w1", reason="late")
    sent = Recorder()
    for _ in range(2):
        store.claim(item.id, "w", timedelta(seconds=60))
        clock.advance(timedelta(seconds=61))
        tick(store, sent)
    assert store.get(item.id).status == Status.FAILED  # 3 of 3 attempts used up by lost workers


def test_a_late_outcome_records_nothing_and_keeps_the_queues_error_run(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    """On PostgreSQL the end of a run, its event and the breaker's reset are one statement: a refused end
    must leave all three as they were."""
    for _ in range(2):
        runner.run(submit(store, "error").id)
    assert store.queue_state("echo").consecutive_errors == 2
    item = submit(store)
    claimed = store.claim(item.id, "w1", timedelta(seconds=60))
    assert claimed is not None
    clock.advance(timedelta(seconds=61))
    store.reap_expired()
    with pytest.raises(StaleVersion):
        store.finish(claimed, Status.DONE, actor="w1", reason="late")
    assert store.queue_state("echo").consecutive_errors == 2
    assert [(e.from_state, e.to_state) for e in store.events("item", item.id)] == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "pending"),
    ]
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE and done.attempts == 2
    assert store.queue_state("echo").consecutive_errors == 0
    ended = store.events("item", item.id)[-2:]
    assert [(e.to_state, e.actor, e.queue) for e in ended] == [
        ("running", runner.worker_id, "echo"),
        ("done", runner.worker_id, "echo"),
    ]


def test_circuit_breaker_pauses_queue_and_keeps_accepting(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    for _ in range(3):
        runner.run(submit(store, "error").id)
    state = store.queue_state("echo")
    assert (
        state.paused
        and state.paused_by == "circuit-breaker"
        and "3 Systemfehler" in (state.paused_reason or "")
    )
    waiting = submit(store)
    assert runner.run(waiting.id) is None and store.get(waiting.id).status == Status.PENDING
    assert [e.to_state for e in store.recent_events(queue="echo") if e.subject == "queue"] == ["paused"]
    assert store.resume_queue("echo", "supervisor", "DB wieder da")
    assert runner.run(waiting.id).status == Status.DONE  # type: ignore[union-attr]
    assert store.queue_state("echo").consecutive_errors == 0


def test_the_breaker_heals_after_a_cool_down_with_one_trial(
    store: Store, runner: Runner, clock: FixedClock, tmp_path: Path
) -> None:
    down = tmp_path / "down"
    down.touch()
    items = [submit(store, "down_while", switch_file=str(down)) for _ in range(4)]
    for item in items[:3]:
        runner.run(item.id)
    state = store.queue_state("echo")
    assert state.paused and state.resume_at == clock.now() + timedelta(seconds=60)
    sent = Recorder()
    assert tick(store, sent)["trials"] == 0  # still cooling down
    clock.advance(timedelta(seconds=61))

    # the first trial fails: the queue stays paused, twice as long
    tick(store, sent)
    (trial,) = [store.get(i) for i in sent.sent if store.get(i).breaker_trial]  # one item, the oldest due
    assert trial.id == items[0].id
    others = [i for i in sent.sent if i != trial.id]
    assert others and all(runner.run(i) is None for i in others)  # they wait while the queue is paused
    assert runner.run(trial.id).status == Status.DEFERRED  # type: ignore[union-attr]
    state = store.queue_state("echo")
    assert (
        state.paused
        and state.cooldown_seconds == 120
        and state.resume_at == clock.now() + timedelta(seconds=120)
    )
    assert not store.get(trial.id).breaker_trial
    clock.advance(timedelta(seconds=60))
    assert tick(store, sent)["trials"] == 0

    # the cause is gone: the next trial succeeds and the queue resumes on its own
    down.unlink()
    clock.advance(timedelta(seconds=61))
    sent.sent.clear()
    tick(store, sent)
    (trial,) = [store.get(i) for i in sent.sent if store.get(i).breaker_trial]
    assert runner.run(trial.id).status == Status.DONE  # type: ignore[union-attr]
    state = store.queue_state("echo")
    assert not state.paused and state.resume_at is None and state.consecutive_errors == 0
    moves = [(e.from_state, e.to_state, e.actor) for e in store.events("queue", "echo")]
    assert moves == [
        ("running", "paused", "circuit-breaker"),
        ("paused", "half_open", "system"),
        ("half_open", "paused", "circuit-breaker"),
        ("paused", "half_open", "system"),
        ("paused", "running", "circuit-breaker"),
    ]
    # alerts wait in the outbox (this runner's SMTP port has nobody listening): paused, then resumed
    subjects = [m.mail.subject for m in reversed(store.outbox())]
    assert subjects == [
        "[PortalBots] Warteschlange echo angehalten",
        "[PortalBots] Warteschlange echo läuft wieder",
    ]
    clock.advance(timedelta(hours=1))
    store.release_due()
    for item in items:  # the rest drains
        if store.get(item.id).status != Status.DONE:
            assert runner.run(item.id).status == Status.DONE  # type: ignore[union-attr]


def test_a_done_item_shows_no_earlier_error_but_its_history_does(
    store: Store, runner: Runner, clock: FixedClock, tmp_path: Path
) -> None:
    down = tmp_path / "down"
    down.touch()
    item = submit(store, "down_while", switch_file=str(down))
    assert runner.run(item.id).error is not None  # type: ignore[union-attr]
    down.unlink()
    clock.advance(timedelta(minutes=5))
    store.release_due()
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE and done.error is None
    failed_run = [e for e in store.events("item", item.id) if e.to_state == "deferred"]
    assert failed_run[0].detail["error"]["code"] == "ConnectionRefusedError"


def test_a_success_ends_the_run_of_errors(store: Store, runner: Runner) -> None:
    for action in ("error", "error", "ok", "error", "error"):
        runner.run(submit(store, action).id)
    state = store.queue_state("echo")
    assert not state.paused and state.consecutive_errors == 2


def test_backlog_snapshot(store: Store, runner: Runner, clock: FixedClock) -> None:
    clock.set(berlin(2026, 11, 28, 23, 0))
    for _ in range(3):
        runner.run(submit(store).id)
    submit(store)
    assert store.record_backlog() == 2
    points = {(p.status, p.reason): p.count for p in store.backlog(clock.now() - timedelta(minutes=1))}
    assert points == {("deferred", "service_window"): 3, ("pending", None): 1}


def test_stale_version_on_concurrent_operator_change(store: Store, runner: Runner) -> None:
    item = submit(store, "error")
    runner.run(item.id)
    current = store.get(item.id)
    store.change_status(item.id, Status.PENDING, actor="op1", reason="now", expected_version=current.version)
    with pytest.raises((StaleVersion, InvalidTransition)):
        store.change_status(
            item.id, Status.PENDING, actor="op2", reason="now", expected_version=current.version
        )


def test_tracebacks_are_stored_with_ibans_masked(store: Store, runner: Runner) -> None:
    item, _ = store.submit("echo", {"customer_id": "K1", "action": "error", "text": "DE89370400440532013000"})
    runner.run(item.id)
    error = store.get(item.id).error
    assert error is not None and error.traceback
    assert "0532" not in error.traceback and "0532" not in error.message
    assert "DE89 **** **** **** **30 00" in error.traceback


class SlowStepBot(EchoBot):
    """A step that outlasts the lease twice over: time passes (the clock moves) while the keeper renews."""

    queue = "slow"
    route = "slows"
    keeper: LeaseKeeper
    seen: list[tuple[datetime, list[int]]]

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        clock = ctx.clock
        assert isinstance(clock, FixedClock)
        for _ in range(4):
            clock.advance(timedelta(seconds=30))  # half the 60 s lease
            renewed = self.keeper.renew_all()
            reaped = ctx.store.reap_expired()  # housekeeping runs meanwhile and must not take the item
            assert reaped == []
            self.seen.append((ctx.store.get(item.id).lease_expires, renewed))  # type: ignore[arg-type]
        return {"slow": True}


def test_lease_keeper_keeps_a_long_step_and_lets_a_lost_lease_go(
    store: Store, settings: Settings, clock: FixedClock
) -> None:
    keeper = LeaseKeeper()
    bot = SlowStepBot()
    bot.keeper, bot.seen = keeper, []
    runner = Runner(store, Registry([bot]), settings, clock, middleware=[keeper])
    item, _ = store.submit("slow", {"customer_id": "K1"})
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE  # two minutes on a 60 s lease
    expiries = [at for at, _ in bot.seen]
    assert all(renewed == [item.id] for _, renewed in bot.seen)
    assert expiries == sorted(expiries) and expiries[-1] - expiries[0] == timedelta(seconds=90)
    assert keeper.held() == []

    # A worker whose lease was reaped stops renewing that item.
    other, _ = store.submit("slow", {"customer_id": "K2"})
    claimed = store.claim(other.id, "w-dead", timedelta(seconds=60))
    assert claimed is not None
    keeper._held[other.id] = (store, "w-dead", timedelta(seconds=60))
    clock.advance(timedelta(seconds=61))
    assert [i.id for i in store.reap_expired()] == [other.id]
    assert keeper.renew_all() == [] and keeper.held() == []


def test_a_pending_item_is_sent_again_only_after_its_bound_which_doubles(
    store: Store, clock: FixedClock
) -> None:
    items = [submit(store) for _ in range(5)]  # the intake sent each once
    sent = Recorder()
    tick(store, sent)
    assert sent.sent == []  # within the bound: no copies in the broker
    clock.advance(timedelta(seconds=61))
    tick(store, sent)
    assert sorted(sent.sent) == [i.id for i in items]
    clock.advance(timedelta(seconds=61))
    tick(store, sent)
    assert len(sent.sent) == 5  # the next bound is 120 s
    clock.advance(timedelta(seconds=60))
    tick(store, sent)
    assert len(sent.sent) == 10
    assert {store.get(i.id).dispatches for i in items} == {3}


def test_at_the_opening_every_deferred_item_is_released_at_once_most_urgent_first(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    clock.set(berlin(2026, 11, 28, 23, 0))
    urgent = []
    for n in range(60):
        item, _ = store.submit(
            "echo", {"customer_id": "K1"}, customer_id="K1", priority=1 if n % 20 == 7 else 0
        )
        runner.run(item.id)
        if item.priority:
            urgent.append(item.id)
    assert store.counts()["echo"] == {"deferred": 60}
    clock.set(berlin(2026, 11, 30, 7, 0))
    sent = Recorder()
    done = tick(store, sent)
    assert done["released"] == 60 and len(sent.sent) == 60  # one round, each sent once
    assert sent.sent[: len(urgent)] == sorted(urgent)
    assert tick(store, sent)["enqueued"] == 0


# ------------------------------------------------------------------ a clerk's authority


class Scripted(EchoBot):
    """Does what its script says, one step a run, and notes the clerk's authority each run carried."""

    def __init__(self, *steps: str) -> None:
        self.steps = list(steps)
        self.seen: list[ClerkAuthority | None] = []

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        self.seen.append(ctx.clerk_authority)
        step = self.steps.pop(0)
        match step:
            case "handoff":
                raise HandOff("Kranken", "dunning_active", "Mahnverfahren aktiv")
            case "reject":
                raise Reject("test_rule", "Das geht leider nicht.")
            case "error":
                raise RuntimeError("boom")
            case "unavailable":
                raise SystemUnavailable("policy_admin", "503 from the test")
            case "forge":
                ctx.remember(
                    AUTHORITY_KEY, {"clerk": "bot", "case_id": 0, "resolution": "x", "at": "2026-01-01"}
                )
        return {"step": step}


def handed_to_clerk(store: Store, runner: Runner, bot: Scripted, max_attempts: int = 3) -> tuple[int, int]:
    """An item of `bot` whose first run handed it to a clerk: (item id, case id)."""
    runner.registry = Registry([bot])
    item, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1", max_attempts=max_attempts)
    assert bot.steps[0] == "handoff" and runner.run(item.id).status == Status.HANDED_OFF  # type: ignore[union-attr]
    (case,) = store.cases(item_id=item.id, statuses=[CaseStatus.OPEN])
    return item.id, case.id


def test_apply_anyway_reruns_the_item_with_the_clerks_authority(store: Store, runner: Runner) -> None:
    item = submit(store, "guarded")
    assert runner.run(item.id).status == Status.HANDED_OFF  # type: ignore[union-attr]
    (case,) = store.cases(item_id=item.id)
    decide(store, runner.registry, case.id, "clerk.a", "apply_anyway", "Kunde hat bezahlt")
    done = runner.run(item.id)
    assert done is not None and done.status == Status.DONE
    assert done.result == {"applied_by": "clerk.a", "case_id": case.id}
    assert AUTHORITY_KEY not in done.progress and AUTHORITY_KEY not in store.get(item.id).progress
    end = store.events("item", item.id)[-1]
    assert end.to_state == "done" and end.detail[AUTHORITY_KEY]["clerk"] == "clerk.a"


def test_the_authority_outlasts_deferrals_and_a_crash_of_its_run(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    bot = Scripted("handoff", "unavailable", "error", "done")
    item_id, case_id = handed_to_clerk(store, runner, bot)
    decide(store, runner.registry, case_id, "clerk.a", "apply_anyway", "Kunde hat bezahlt")
    authority = ClerkAuthority("clerk.a", case_id, "apply_anyway", clock.now())

    def next_round() -> None:
        clock.advance(timedelta(hours=1))
        store.release_due()

    assert runner.run(item_id).defer_reason == DeferReason.SERVICE_WINDOW  # type: ignore[union-attr]
    next_round()
    assert runner.run(item_id).defer_reason == DeferReason.RETRY_BACKOFF  # type: ignore[union-attr]
    next_round()
    assert store.claim(item_id, "worker-that-dies", timedelta(seconds=60)) is not None
    clock.advance(timedelta(seconds=61))
    (reaped,) = store.reap_expired()
    assert ClerkAuthority.of(reaped.progress) == authority  # the same decision's run, after the crash
    done = runner.run(item_id)
    assert done is not None and done.status == Status.DONE and done.attempts == 3
    assert bot.seen == [None, authority, authority, authority]
    assert AUTHORITY_KEY not in done.progress


@pytest.mark.parametrize(
    ("end", "status"), [("reject", Status.REJECTED), ("handoff", Status.HANDED_OFF), ("error", Status.FAILED)]
)
def test_the_authority_ends_with_the_run_it_was_given_for(
    store: Store, runner: Runner, clock: FixedClock, end: str, status: Status
) -> None:
    bot = Scripted("handoff", end, "done")
    item_id, case_id = handed_to_clerk(store, runner, bot, max_attempts=1)
    decide(store, runner.registry, case_id, "clerk.a", "apply_anyway", "Kunde hat bezahlt")
    ended = runner.run(item_id)
    assert ended is not None and ended.status == status
    assert AUTHORITY_KEY not in store.get(item_id).progress
    assert store.events("item", item_id)[-1].detail[AUTHORITY_KEY]["case_id"] == case_id  # ended under it
    if end == "handoff":  # a later hand-off needs a new decision
        (again,) = store.cases(item_id=item_id, statuses=[CaseStatus.OPEN])
        decide(store, runner.registry, again.id, "clerk.b", "back_to_bot")
    elif end == "error":  # an operator's retry of the failed item runs without it
        store.change_status(item_id, Status.PENDING, actor="op", reason="retry", reset_attempts=True)
    if end != "reject":
        assert runner.run(item_id).status == Status.DONE  # type: ignore[union-attr]
    authority = ClerkAuthority("clerk.a", case_id, "apply_anyway", clock.now())
    assert bot.seen == [None, authority] + ([] if end == "reject" else [None])


def test_a_run_lost_on_its_last_attempt_fails_without_the_authority(
    store: Store, runner: Runner, clock: FixedClock
) -> None:
    item_id, case_id = handed_to_clerk(store, runner, Scripted("handoff"), max_attempts=1)
    decide(store, runner.registry, case_id, "clerk.a", "apply_anyway", "Kunde hat bezahlt")
    assert store.claim(item_id, "worker-that-dies", timedelta(seconds=60)) is not None
    clock.advance(timedelta(seconds=61))
    (failed,) = store.reap_expired()
    assert failed.status == Status.FAILED and AUTHORITY_KEY not in failed.progress
    assert store.get(item_id) == failed


def test_a_bot_cannot_grant_itself_authority(store: Store, runner: Runner) -> None:
    bot = Scripted("handoff", "forge")
    item_id, case_id = handed_to_clerk(store, runner, bot)
    decide(store, runner.registry, case_id, "clerk.a", "back_to_bot")
    out = runner.run(item_id)
    assert out is not None and out.status == Status.DEFERRED and out.error is not None
    assert "only a clerk's resolution grants authority" in out.error.message
    assert bot.seen == [None, None] and AUTHORITY_KEY not in out.progress
