"""The bank change bot end to end: real sandbox web UI in headless Chromium, real SMTP Postfach, real PDFs;
what changed is read back through the sandbox's own admin API (the core system's records)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bots.bank_change.bot import BankChangeBot
from bots.insurer.pages.policy_admin import PolicyAdmin
from bots.runtime.bot import Registry
from bots.runtime.browser import ProcessBrowser
from bots.runtime.item_view import load_operator_detail, portal_view
from bots.runtime.maintenance import tick
from bots.runtime.models import WorkItem
from bots.runtime.privacy import install_log_masking
from bots.runtime.resolutions import decide
from bots.runtime.runner import Runner
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store
from tests.conftest import MONDAY_07, SANDBOX_CUSTOMERS, SATURDAY_23, Sandbox

pytestmark = pytest.mark.browser

NEW_IBAN = "DE89370400440532013000"
# every form an IBAN is written in that must never appear unmasked
IBAN_FORMS = (
    NEW_IBAN,
    "DE89 3704 0044 0532 0130 00",
    "DE89%203704%200044%200532%200130%2000",
    "de89370400440532013000",
)
TWO_POLICIES = ("LV-4713-0005", "KV-4712-0010")  # K100012: both calm, both accounts (Leben, Kranken)
DUNNING = ("K100003", "KV-4712-0002")  # Kranken
FOREIGN = ("K100013", "KO-4714-0006")  # a calm policy of another customer than the one who asks


@dataclass
class Rig:
    runner: Runner
    store: Store
    sandbox: Sandbox
    registry: Registry

    def submit(
        self, customer: str, policies: tuple[str, ...], roles: tuple[str, ...], iban: str = NEW_IBAN
    ) -> int:
        payload = {
            "customer_id": customer,
            "iban": iban,
            "policies": [{"policy_number": p, "roles": list(roles)} for p in policies],
        }
        item, _ = self.store.submit("bank_change", payload, customer_id=customer)
        return item.id

    def run(self, item_id: int) -> WorkItem:
        item = self.runner.run(item_id)
        assert item is not None
        return item

    def accounts(self, policy: str) -> dict[str, Any]:
        """The policy's accounts and history as the core system keeps them."""
        return dict(self.sandbox.admin.get(f"/admin/policies/{policy}/accounts").json())


@pytest.fixture
def rig(sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path) -> Iterator[Rig]:
    # the accounts as seeded: another test of the module (or the other database's run) changed them
    sandbox.admin.post("/admin/seed", json={"customers": SANDBOX_CUSTOMERS}).raise_for_status()
    store = Store(db_url, sandbox.clock)
    registry = Registry([BankChangeBot(sandbox.insurer_settings())])
    runner = Runner(
        store,
        registry,
        sandbox.runtime_settings(tmp_path),
        sandbox.clock,
        resources={"browser": process_browser},
    )
    yield Rig(runner, store, sandbox, registry)
    store.dispose()


def ibans_of(record: dict[str, Any]) -> dict[str, str]:
    return {a["role"]: a["iban"] for a in record["accounts"]}


def letters(sandbox: Sandbox, customer: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.postfach(customer) if m["attachments"]]


def pdf_text(sandbox: Sandbox, customer: str, message: dict[str, Any]) -> str:
    url = f"/admin/postfach/{customer}/{message['no']}/attachments/0"
    return " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(sandbox.admin.get(url).content)).pages
    )


def test_two_policies_both_accounts_changed_and_one_letter(rig: Rig) -> None:
    sandbox = rig.sandbox
    before = {p: ibans_of(rig.accounts(p)) for p in TWO_POLICIES}
    sent = len(letters(sandbox, "K100012"))
    item = rig.run(rig.submit("K100012", TWO_POLICIES, ("debit", "credit")))
    assert item.status == Status.DONE, item.error

    for policy in TWO_POLICIES:
        record = rig.accounts(policy)
        assert ibans_of(record) == {"debit": NEW_IBAN, "credit": NEW_IBAN}
        mine = [h for h in record["history"] if h["new_iban"] == NEW_IBAN]
        assert sorted(h["role"] for h in mine) == ["credit", "debit"]
        assert {h["authority"] for h in mine} == {"bot"}
        assert {h["role"]: h["old_iban"] for h in mine} == before[policy]

    (letter,) = letters(sandbox, "K100012")[sent:]
    assert letter["subject"] == "Ihre neue Bankverbindung ist eingetragen"
    text = pdf_text(sandbox, "K100012", letter)
    for policy in TWO_POLICIES:
        assert policy in text and f"{policy}-M02" in text  # the new SEPA mandate of each debit account
    assert "DE89 **** **** **** **30 00" in text and "COBADEFFXXX" in text and "Commerzbank" in text
    assert "DE98ZZZ09999999999" in text and "Björn Sørensen-Groß" in text
    for old in before.values():
        for iban in old.values():
            assert iban not in text.replace(" ", "")  # old IBANs only masked
    assert NEW_IBAN not in text.replace(" ", "")


def test_dunning_goes_to_the_unit_unchanged_and_apply_anyway_changes_it_on_the_clerks_authority(
    rig: Rig,
) -> None:
    sandbox = rig.sandbox
    customer, policy = DUNNING
    before = rig.accounts(policy)
    item = rig.run(rig.submit(customer, (policy,), ("debit",)))
    assert item.status == Status.HANDED_OFF
    (case,) = rig.store.cases(units=["Kranken"])
    assert case.item_id == item.id and case.reason_code == "dunning_active"
    assert "Mahnverfahren aktiv" in case.note and "Nichts wurde geändert" in case.note
    assert rig.accounts(policy) == before  # nothing changed in the core system
    tick(rig.store, _NoDispatch(), rig.runner.mailer)  # housekeeping sends the outbox
    (notice,) = [m for m in sandbox.postfach(customer) if "in Bearbeitung" in m["subject"]]
    assert "Krankenversicherung" in notice["body_text"]

    _, again = decide(
        rig.store, rig.registry, case.id, "clerk:Erika Mustermann", "apply_anyway", "Kunde angerufen"
    )
    assert again.status == Status.PENDING
    done = rig.run(item.id)
    assert done.status == Status.DONE, done.error
    record = rig.accounts(policy)
    assert ibans_of(record)["debit"] == NEW_IBAN
    (change,) = [h for h in record["history"] if h["new_iban"] == NEW_IBAN]
    assert change["authority"] == "clerk:Erika Mustermann"  # the core system's history names the clerk
    decided = [e for e in rig.store.events("item", item.id) if "Erika Mustermann" in e.actor]
    assert decided and "apply_anyway" in decided[0].reason
    assert rig.store.get(item.id).progress.get("clerk_authority") is None  # for that run only


def test_a_run_cut_off_after_the_first_of_two_policies_changes_each_once_and_sends_one_letter(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, store = rig.sandbox, rig.store
    real = PolicyAdmin.change_account
    calls: list[str] = []

    def then_the_worker_dies(
        self: PolicyAdmin, policy_number: str, role: str, iban: str, authority: str
    ) -> Any:
        account = real(self, policy_number, role, iban, authority)  # the core system took the change
        calls.append(policy_number)
        if len(calls) == 1:
            raise ConnectionResetError("the worker died after the first policy was changed")
        return account

    monkeypatch.setattr(PolicyAdmin, "change_account", then_the_worker_dies)
    before = {p: ibans_of(rig.accounts(p))["debit"] for p in TWO_POLICIES}
    sent = len(letters(sandbox, "K100012"))
    item_id = rig.submit("K100012", TWO_POLICIES, ("debit",))
    first = rig.run(item_id)
    assert first.status == Status.DEFERRED and first.defer_reason == DeferReason.RETRY_BACKOFF
    assert ibans_of(rig.accounts(TWO_POLICIES[0]))["debit"] == NEW_IBAN
    assert ibans_of(rig.accounts(TWO_POLICIES[1]))["debit"] == before[TWO_POLICIES[1]]

    sandbox.clock.advance(timedelta(minutes=10))
    store.release_due()
    final = rig.run(item_id)
    assert final.status == Status.DONE, final.error
    for policy in TWO_POLICIES:
        record = rig.accounts(policy)
        assert ibans_of(record)["debit"] == NEW_IBAN
        assert [h["old_iban"] for h in record["history"] if h["new_iban"] == NEW_IBAN] == [before[policy]]
    (letter,) = letters(sandbox, "K100012")[sent:]
    text = pdf_text(sandbox, "K100012", letter).replace(" ", "")
    for policy in TWO_POLICIES:
        assert (before[policy][:4] + "*" * 14 + before[policy][-4:]) in text  # the old IBAN, from the history


def test_at_night_it_waits_for_the_opening_and_is_applied_then(rig: Rig) -> None:
    sandbox = rig.sandbox
    sandbox.clock.set(SATURDAY_23)
    item_id = rig.submit("K100011", ("KO-4714-0005",), ("credit",))
    waiting = rig.run(item_id)
    assert waiting.status == Status.DEFERRED and waiting.defer_reason == DeferReason.SERVICE_WINDOW
    assert waiting.not_before == MONDAY_07
    sandbox.clock.set(MONDAY_07 + timedelta(minutes=1))
    assert tick(rig.store, _NoDispatch())["released"] == 1
    assert rig.run(item_id).status == Status.DONE
    assert ibans_of(rig.accounts("KO-4714-0005"))["credit"] == NEW_IBAN


def test_at_night_another_customers_policy_is_rejected_at_once_and_nothing_changes(rig: Rig) -> None:
    """The portal's contract overview answers at any hour: the request's own checks do not wait for Monday."""
    sandbox = rig.sandbox
    sandbox.clock.set(SATURDAY_23)
    own, foreign = "KO-4714-0005", FOREIGN[1]  # K100011's policy, and one of K100013's
    before = {p: rig.accounts(p) for p in (own, foreign)}
    for policies in ((foreign,), (own, foreign)):  # all or nothing: one foreign policy refuses the request
        item = rig.run(rig.submit("K100011", policies, ("debit",)))
        assert item.status == Status.REJECTED and item.defer_reason is None and item.not_before is None
        assert item.error is not None and item.error.code == "policy_not_owned"
        assert f"Der Vertrag {foreign} gehört nicht zu Ihren aktiven Verträgen." in item.error.message
        assert "Wir haben keine Bankverbindung geändert." in item.error.message
        assert item.result == {"customer_message": item.error.message}
    assert {p: rig.accounts(p) for p in (own, foreign)} == before  # nothing changed in the core system

    # the customer is told as for every refused bank change: a message in the Postfach, sent by housekeeping
    tick(rig.store, _NoDispatch(), rig.runner.mailer)
    refused = [m for m in sandbox.postfach("K100011") if m["subject"].startswith("Ihre Anfrage: ")]
    assert len(refused) == 2 and all(f"Vertrag {foreign} gehört nicht" in m["body_text"] for m in refused)
    subject = f"Ihre Anfrage: die Änderung Ihrer Bankverbindung für den Vertrag {foreign} (neue IBAN DE89 "
    assert refused[0]["subject"] == subject + "**** **** **** **30 00)"
    assert not letters(sandbox, "K100011")

    # the customer's own policy at the same hour waits for Monday's opening, as before
    waiting = rig.run(rig.submit("K100011", (own,), ("debit",)))
    assert waiting.status == Status.DEFERRED and waiting.defer_reason == DeferReason.SERVICE_WINDOW
    assert waiting.not_before == MONDAY_07


def test_with_the_contract_overview_down_a_request_waits_or_is_checked_in_the_core_system(rig: Rig) -> None:
    sandbox = rig.sandbox
    sandbox.clock.set(SATURDAY_23)
    sandbox.set_faults(portal_down=True)
    item_id = rig.submit("K100011", (FOREIGN[1],), ("debit",))
    down = rig.run(item_id)
    # SystemUnavailable of the overview: asked again after the retry base (30 s), no attempt used
    assert down.status == Status.DEFERRED and down.defer_reason == DeferReason.SERVICE_WINDOW
    assert down.not_before == SATURDAY_23 + timedelta(seconds=30)
    assert down.attempts == 0
    assert down.error is not None and down.error.kind == "unavailable"
    assert "portal_contracts" in down.error.message and "503" in down.error.message
    sandbox.clock.advance(timedelta(minutes=1))
    rig.store.release_due()
    again = rig.run(item_id)
    assert (
        again.status == Status.DEFERRED and again.attempts == 0
    )  # still down: deferred again, no attempt used

    sandbox.set_faults(portal_down=False)
    sandbox.clock.advance(timedelta(minutes=1))
    rig.store.release_due()
    rejected = rig.run(item_id)
    assert rejected.status == Status.REJECTED and rejected.error is not None
    assert rejected.error.code == "policy_not_owned"

    # the customer's own policy, with the overview down at night: deferred, then at the opening applied
    sandbox.set_faults(portal_down=True)
    own = rig.submit("K100011", ("KO-4714-0005",), ("credit",))
    assert rig.run(own).status == Status.DEFERRED
    sandbox.set_faults(portal_down=False)
    sandbox.clock.advance(timedelta(minutes=1))
    rig.store.release_due()
    waiting = rig.run(own)
    assert waiting.status == Status.DEFERRED and waiting.not_before == MONDAY_07
    sandbox.clock.set(MONDAY_07 + timedelta(minutes=1))
    rig.store.release_due()
    assert rig.run(own).status == Status.DONE
    assert ibans_of(rig.accounts("KO-4714-0005"))["credit"] == NEW_IBAN

    # in service hours an outage of the overview holds nothing up: the policy administration checks
    sandbox.set_faults(portal_down=True)
    foreign = rig.run(rig.submit("K100011", (FOREIGN[1],), ("debit",)))
    assert foreign.status == Status.REJECTED and foreign.attempts == 1
    assert foreign.error is not None and foreign.error.code == "policy_not_found"  # refused by process
    assert FOREIGN[1] in foreign.error.message
    mine = rig.run(rig.submit("K100011", ("KO-4714-0005",), ("debit",)))
    assert mine.status == Status.DONE and ibans_of(rig.accounts("KO-4714-0005"))["debit"] == NEW_IBAN


def test_ibans_never_show_unmasked_in_logs_events_errors_notes_or_views(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_masking()
    caplog.set_level(logging.DEBUG)
    done = rig.run(rig.submit("K100011", ("KO-4714-0005",), ("debit",)))
    handed = rig.run(rig.submit(*DUNNING[:1], (DUNNING[1],), ("debit",), iban="DE89 3704 0044 0532 0130 00"))
    rig.sandbox.set_faults(alt_layout=True)  # the page changes: a failed step with a screenshot
    failed = rig.run(rig.submit("K100012", TWO_POLICIES[:1], ("credit",)))
    rig.sandbox.set_faults(alt_layout=False)
    assert (done.status, handed.status, failed.status) == (Status.DONE, Status.HANDED_OFF, Status.DEFERRED)

    kept = [caplog.text]
    for item in (done, handed, failed):
        fresh = rig.store.get(item.id)
        kept.append(json.dumps(portal_view(fresh)))
        kept.append(json.dumps(load_operator_detail(rig.store, item.id), default=str))
        kept += [f"{e.reason} {e.detail}" for e in rig.store.events("item", item.id)]
        kept.append(repr(fresh.error))
        kept.append(json.dumps(fresh.result))
        kinds = [a.kind for a in rig.store.artifacts(item.id)]
        assert "trace" not in kinds  # a trace's DOM snapshots would keep the pages' full IBANs
    kept += [c.note for c in rig.store.cases()]
    everything = "\n".join(kept)
    for form in IBAN_FORMS:
        assert form not in everything, f"unmasked IBAN ({form}) in what the bot keeps"


class _NoDispatch:
    def enqueue(self, item: WorkItem) -> None:
        pass
