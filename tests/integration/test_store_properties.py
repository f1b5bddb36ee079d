"""Property: whatever operations run in whatever order, items only move along the transition table,
every move leaves exactly one event, a refused move changes nothing, and a clerk's authority lasts exactly
as long as the run that carries out the decision."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bots.runtime.clock import FixedClock
from bots.runtime.errors import InvalidTransition, StaleVersion
from bots.runtime.migrate import upgrade
from bots.runtime.models import AUTHORITY_KEY, Case, ClerkAuthority, ItemError, Resolution, WorkItem
from bots.runtime.resolutions import APPLY_ANYWAY
from bots.runtime.states import TRANSITIONS, CaseStatus, DeferReason, Status
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot

LEASE = timedelta(seconds=60)
TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="pb-prop-"))
TEMPLATE = TEMPLATE_DIR / "template.db"
upgrade(f"sqlite:///{TEMPLATE}")

statuses = st.sampled_from(list(Status))
owners = st.sampled_from(["worker-a", "worker-b"])


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(dir=TEMPLATE_DIR))
        shutil.copy(TEMPLATE, self.dir / "store.db")
        self.clock = FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        self.store = Store(f"sqlite:///{self.dir / 'store.db'}", self.clock)
        self.moves: dict[int, int] = {}  # item id -> transitions the store accepted
        self.resolved: dict[int, Resolution] = {}  # case id -> the clerk's resolution

    def teardown(self) -> None:
        self.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --------------------------------------------------------------- helpers

    def _items(self) -> list[int]:
        return sorted(self.moves)

    def _pick(self, data: st.DataObject, status: Status) -> int:
        """An item, mostly one in `status` (the state the rule applies to, so runs get deep enough to carry
        out a clerk's decision), sometimes any (so refusals are tried too)."""
        fitting = [i.id for i in self.store.list_items(statuses=[status], limit=1000)]
        if fitting and data.draw(st.integers(0, 3)):
            return data.draw(st.sampled_from(fitting))
        return data.draw(st.sampled_from(self._items()))

    def _attempt(self, item_id: int, change: object) -> None:
        """Run a store call that may be refused; a refusal must leave the item as it was."""
        before = self.store.get(item_id)
        try:
            change()  # type: ignore[operator]
        except (InvalidTransition, StaleVersion, ValueError):
            assert self.store.get(item_id) == before
        else:
            self.moves[item_id] += 1

    # ----------------------------------------------------------------- rules

    @initialize()
    def an_item_waits_for_a_clerk(self) -> None:
        """Every example starts with a case, so that clerks' decisions and their runs are reached."""
        item, _ = self.store.submit("echo", {"customer_id": "K1", "text": "case"}, max_attempts=3)
        claimed = self.store.claim(item.id, "worker-a", LEASE)
        assert claimed is not None
        self.store.hand_off(
            claimed, unit="Kranken", reason_code="dunning_active", note="", case_due=LEASE, actor="worker-a"
        )
        self.moves[item.id] = 3  # submitted, claimed, handed off

    @rule(text=st.text(max_size=5))
    def submit(self, text: str) -> None:
        item, created = self.store.submit("echo", {"customer_id": "K1", "text": text}, max_attempts=3)
        assert created
        self.moves[item.id] = 1  # None -> pending

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), owner=owners)
    def claim(self, data: st.DataObject, owner: str) -> None:
        item_id = self._pick(data, Status.PENDING)
        before = self.store.get(item_id)
        claimed = self.store.claim(item_id, owner, LEASE)
        if claimed is None:
            assert self.store.get(item_id) == before
        else:
            assert before.status == Status.PENDING and claimed.attempts == before.attempts + 1
            self.moves[item_id] += 1

    def _end(self, item: WorkItem, to: Status, delay: int) -> None:
        """End the run of `item` (as read) with `to`: a hand-off opens a case, the rest go through finish."""
        if to == Status.HANDED_OFF:
            self._attempt(
                item.id,
                lambda: self.store.hand_off(
                    item,
                    unit="Kranken",
                    reason_code="dunning_active",
                    note="Mahnverfahren",
                    case_due=timedelta(days=2),
                    actor=item.lease_owner or "nobody",
                ),
            )
            return
        not_before = self.clock.now() + timedelta(seconds=delay) if to == Status.DEFERRED else None
        error = ItemError("system", "boom", "boom") if to in (Status.FAILED, Status.REJECTED) else None
        # As the runner does: a run given back (a worker stopping) or deferred to a service window returns its
        # attempt; only a run with attempts left is deferred for a retry.
        refund = to == Status.PENDING or (to == Status.DEFERRED and item.attempts >= item.max_attempts)
        self._attempt(
            item.id,
            lambda: self.store.finish(
                item,
                to,
                actor=item.lease_owner or "nobody",
                reason="test",
                error=error,
                not_before=not_before,
                defer_reason=(DeferReason.SERVICE_WINDOW if refund else DeferReason.RETRY_BACKOFF)
                if not_before
                else None,
                refund_attempt=refund,
            ),
        )

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), to=statuses, delay=st.integers(0, 600))
    def finish(self, data: st.DataObject, to: Status, delay: int) -> None:
        if to != Status.HANDED_OFF:  # finish refuses a hand-off; hand_off is its own rule
            self._end(self.store.get(self._pick(data, Status.RUNNING)), to, delay)

    @precondition(lambda self: self.moves)
    @rule(data=st.data())
    def hand_off(self, data: st.DataObject) -> None:
        self._end(self.store.get(self._pick(data, Status.RUNNING)), Status.HANDED_OFF, 0)

    @precondition(lambda self: self.store.list_items(statuses=[Status.PENDING], limit=1))
    @rule(data=st.data(), to=st.sampled_from(sorted(TRANSITIONS[Status.RUNNING])), delay=st.integers(0, 600))
    def worker_runs(self, data: st.DataObject, to: Status, delay: int) -> None:
        """A worker claims a pending item and ends its run, in one step as the runner does."""
        pending = [i.id for i in self.store.list_items(statuses=[Status.PENDING], limit=1000)]
        claimed = self.store.claim(data.draw(st.sampled_from(pending)), "worker-c", LEASE)
        if claimed is not None:  # not due yet
            self.moves[claimed.id] += 1
            self._end(claimed, to, delay)

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), to=statuses)
    def operator_changes(self, data: st.DataObject, to: Status) -> None:
        item_id = data.draw(st.sampled_from(self._items()))
        self._attempt(item_id, lambda: self.store.change_status(item_id, to, actor="op", reason="test"))

    def _waiting(self) -> list[Case]:
        return self.store.cases(statuses=[CaseStatus.OPEN, CaseStatus.CLAIMED])

    @precondition(lambda self: self._waiting())
    @rule(
        data=st.data(),
        resolution=st.sampled_from(EchoBot.resolutions),
        note=st.sampled_from(["", "ok"]),
        clerk=st.sampled_from([None, "clerk.a", "clerk.b"]),
    )
    def clerk_resolves(
        self, data: st.DataObject, resolution: Resolution, note: str, clerk: str | None
    ) -> None:
        """A clerk (the assignee, or any other) decides with one of the bot's resolutions, with or without a note."""
        case = data.draw(st.sampled_from(self._waiting()))
        who = clerk or case.assignee or "clerk.a"
        self._attempt(case.item_id, lambda: self.store.resolve_case(case.id, who, resolution, note))
        if self.store.get_case(case.id).status == CaseStatus.RESOLVED:
            self.resolved[case.id] = resolution

    @precondition(lambda self: self._waiting())
    @rule(data=st.data())
    def clerk_applies_anyway(self, data: st.DataObject) -> None:
        """The decision whose run carries the clerk's authority (drawn often enough to follow its run)."""
        case = data.draw(st.sampled_from(self._waiting()))
        who = case.assignee or "clerk.a"
        self._attempt(case.item_id, lambda: self.store.resolve_case(case.id, who, APPLY_ANYWAY, "bezahlt"))
        self.resolved[case.id] = APPLY_ANYWAY

    @precondition(lambda self: self.store.cases(statuses=[CaseStatus.OPEN]))
    @rule(data=st.data(), clerk=st.sampled_from(["clerk.a", "clerk.b"]))
    def clerk_claims(self, data: st.DataObject, clerk: str) -> None:
        self.store.claim_case(
            data.draw(st.sampled_from(self.store.cases(statuses=[CaseStatus.OPEN]))).id, clerk
        )

    @rule(seconds=st.integers(1, 3600))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    @rule()
    def housekeeping(self) -> None:
        for item in [*self.store.reap_expired(), *self.store.release_due()]:
            self.moves[item.id] += 1

    # ------------------------------------------------------------ invariants

    @invariant()
    def events_trace_every_move(self) -> None:
        for item_id, moves in self.moves.items():
            item = self.store.get(item_id)
            events = self.store.events("item", item_id)
            assert len(events) == moves, f"item {item_id}: {moves} moves, {len(events)} events"
            assert events[0].from_state is None and events[0].to_state == Status.PENDING.value
            for prev, ev in pairwise(events):
                assert ev.from_state == prev.to_state
                assert Status(ev.to_state) in TRANSITIONS[Status(ev.from_state)]
            assert events[-1].to_state == item.status.value
            assert item.version == moves
            held = item.status == Status.RUNNING
            assert (item.lease_owner is not None) == held and (item.lease_expires is not None) == held
            assert 0 <= item.attempts <= item.max_attempts or item.status != Status.RUNNING

    @invariant()
    def a_case_is_open_exactly_while_its_item_waits_for_a_clerk(self) -> None:
        waiting = {c.item_id for c in self.store.cases(statuses=[CaseStatus.OPEN, CaseStatus.CLAIMED])}
        handed = {i for i in self.moves if self.store.get(i).status == Status.HANDED_OFF}
        assert waiting == handed

    @invariant()
    def a_clerks_authority_lasts_as_long_as_the_run_of_the_decision(self) -> None:
        for item_id in self.moves:
            item = self.store.get(item_id)
            authority = ClerkAuthority.of(item.progress)
            if authority is None:
                continue
            # it ends with the run: only a pending, running or deferred item carries it
            assert item.status in (Status.PENDING, Status.RUNNING, Status.DEFERRED), item
            # and it is the decision of a clerk who chose a resolution with authority for this item
            case = self.store.get_case(authority.case_id)
            assert case.item_id == item_id and case.status == CaseStatus.RESOLVED
            assert self.resolved[case.id].with_authority and case.resolution == authority.resolution
            assert case.assignee == authority.clerk
            # the latest case of the item: a later hand-off ended it
            assert max(c.id for c in self.store.cases(item_id=item_id)) == case.id
            assert AUTHORITY_KEY in item.progress


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(
    max_examples=int(os.environ.get("PORTALBOTS_HYPOTHESIS_EXAMPLES", "40")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
