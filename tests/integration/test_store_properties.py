"""Property: whatever operations run in whatever order, items only move along the transition table,
every move leaves exactly one event, and a refused move changes nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bots.runtime.clock import FixedClock
from bots.runtime.errors import InvalidTransition, StaleVersion
from bots.runtime.migrate import upgrade
from bots.runtime.models import ItemError
from bots.runtime.states import TRANSITIONS, CaseStatus, DeferReason, Status
from bots.runtime.store import Store

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

    def teardown(self) -> None:
        self.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --------------------------------------------------------------- helpers

    def _items(self) -> list[int]:
        return sorted(self.moves)

    def _attempt(self, item_id: int, change: object) -> None:
        """Run a store call that may be refused; a refusal must leave the item as it was."""
        before = self.store.get(item_id)
        try:
            change()  # type: ignore[operator]
        except (InvalidTransition, StaleVersion):
            assert self.store.get(item_id) == before
        else:
            self.moves[item_id] += 1

    # ----------------------------------------------------------------- rules

    @rule(text=st.text(max_size=5))
    def submit(self, text: str) -> None:
        item, created = self.store.submit("echo", {"customer_id": "K1", "text": text}, max_attempts=3)
        assert created
        self.moves[item.id] = 1  # None -> pending

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), owner=owners)
    def claim(self, data: st.DataObject, owner: str) -> None:
        item_id = data.draw(st.sampled_from(self._items()))
        before = self.store.get(item_id)
        claimed = self.store.claim(item_id, owner, LEASE)
        if claimed is None:
            assert self.store.get(item_id) == before
        else:
            assert before.status == Status.PENDING and claimed.attempts == before.attempts + 1
            self.moves[item_id] += 1

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), to=statuses, delay=st.integers(0, 600))
    def finish(self, data: st.DataObject, to: Status, delay: int) -> None:
        item = self.store.get(data.draw(st.sampled_from(self._items())))
        not_before = self.clock.now() + timedelta(seconds=delay) if to == Status.DEFERRED else None
        error = ItemError("system", "boom", "boom") if to in (Status.FAILED, Status.REJECTED) else None
        self._attempt(
            item.id,
            lambda: self.store.finish(
                item,
                to,
                actor=item.lease_owner or "nobody",
                reason="test",
                error=error,
                not_before=not_before,
                defer_reason=DeferReason.RETRY_BACKOFF if not_before else None,
            ),
        )

    @precondition(lambda self: self.moves)
    @rule(data=st.data())
    def hand_off(self, data: st.DataObject) -> None:
        item = self.store.get(data.draw(st.sampled_from(self._items())))
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

    @precondition(lambda self: self.moves)
    @rule(data=st.data(), to=statuses)
    def operator_changes(self, data: st.DataObject, to: Status) -> None:
        item_id = data.draw(st.sampled_from(self._items()))
        self._attempt(item_id, lambda: self.store.change_status(item_id, to, actor="op", reason="test"))

    @rule(data=st.data(), decision=st.sampled_from([Status.DONE, Status.REJECTED, Status.PENDING]))
    def clerk_resolves(self, data: st.DataObject, decision: Status) -> None:
        open_cases = self.store.cases(statuses=[CaseStatus.OPEN, CaseStatus.CLAIMED])
        if not open_cases:
            return
        case = data.draw(st.sampled_from(open_cases))
        self._attempt(
            case.item_id, lambda: self.store.resolve_case(case.id, case.assignee or "clerk", decision, "ok")
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


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(
    max_examples=int(os.environ.get("PORTALBOTS_HYPOTHESIS_EXAMPLES", "40")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
