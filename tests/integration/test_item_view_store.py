"""The operators' view of stored items: the events, artifacts and the cases (with notes) an item has."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bots.runtime.bot import Registry
from bots.runtime.clock import FixedClock
from bots.runtime.errors import NotFound
from bots.runtime.item_view import load_operator_detail
from bots.runtime.runner import Runner
from bots.runtime.settings import Settings
from bots.runtime.store import Store, Upload
from tests.bots_for_tests import EchoBot

IBAN = "DE89370400440532013000"


@pytest.fixture
def runner(store: Store, tmp_path: Any, clock: FixedClock) -> Runner:
    settings = Settings(data_dir=tmp_path, service_hours="mon-sun 00:00-24:00", smtp_port=1, _env_file=None)  # type: ignore[call-arg]
    return Runner(store, Registry([EchoBot()]), settings, clock, middleware=[], rng=random.Random(1))


def test_detail_of_a_handed_off_item_holds_its_case_and_notes(store: Store, runner: Runner) -> None:
    item, _ = store.submit(
        "echo",
        {"customer_id": "K1", "action": "handoff", "text": IBAN},
        customer_id="K1",
        uploads=[Upload("brief.txt", "text/plain", f"Konto {IBAN}".encode())],
    )
    other, _ = store.submit("echo", {"customer_id": "K2", "action": "handoff"}, customer_id="K2")
    runner.run(item.id)
    runner.run(other.id)
    (case,) = [c for c in store.cases() if c.item_id == item.id]
    store.add_case_note(case.id, "clerk.a", f"Kunde nennt Konto {IBAN}")

    detail = load_operator_detail(store, item.id)
    assert detail["status"] == "handed_off" and IBAN not in str(detail)
    assert [c["id"] for c in detail["cases"]] == [case.id]
    assert detail["cases"][0]["unit"] == "Kranken" and "DE89 ****" in detail["cases"][0]["notes"][0]["text"]
    assert [(e["from"], e["to"]) for e in detail["events"]][-1] == ("running", "handed_off")
    assert [(a["filename"], a["kind"]) for a in detail["artifacts"]] == [("brief.txt", "upload")]


def test_detail_of_an_item_never_handed_off_has_no_cases(store: Store, runner: Runner) -> None:
    item, _ = store.submit("echo", {"customer_id": "K1"}, customer_id="K1")
    runner.run(item.id)
    detail = load_operator_detail(store, item.id)
    assert detail["status"] == "done" and detail["result"] == {"echo": ""} and detail["cases"] == []
    with pytest.raises(NotFound):
        load_operator_detail(store, 999_999)
