"""The ARK bot end to end: real sandbox web UI in headless Chromium, real SMTP Postfach, real PDFs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bots.ark_certificate.bot import ArkCertificateBot
from bots.runtime.bot import Registry
from bots.runtime.browser import SCREENSHOT_KIND, ProcessBrowser
from bots.runtime.mail import Mailer
from bots.runtime.maintenance import tick
from bots.runtime.migrate import upgrade
from bots.runtime.models import WorkItem
from bots.runtime.runner import Runner
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store
from bots.runtime.submission import Submitter
from sandbox.tables import insured_persons
from tests.bots_for_tests import Recorder
from tests.conftest import BERLIN, MONDAY_07, SATURDAY_23, Sandbox, make_ark_request, sandbox_ark_payload

pytestmark = pytest.mark.browser


@dataclass
class Rig:
    runner: Runner
    store: Store
    sandbox: Sandbox

    def submit(self, payload: dict[str, Any]) -> int:
        item, _ = self.store.submit("ark_certificate", payload, customer_id=payload["customer_id"])
        return item.id

    def run(self, payload: dict[str, Any]) -> WorkItem:
        item = self.runner.run(self.submit(payload))
        assert item is not None
        return item


@pytest.fixture
def rig(sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path) -> Iterator[Rig]:
    store = Store(db_url, sandbox.clock)
    bot = ArkCertificateBot(sandbox.ark_settings())
    runner = Runner(
        store,
        Registry([bot]),
        sandbox.runtime_settings(tmp_path),
        sandbox.clock,
        resources={"browser": process_browser},
    )
    yield Rig(runner, store, sandbox)
    store.dispose()


def test_family_gets_every_name_in_every_language(rig: Rig) -> None:
    store, sandbox = rig.store, rig.sandbox
    customer, policy = sandbox.family()
    names = [f"{p['first_name']} {p['last_name']}" for p in policy["insured_persons"]]
    assert len(names) >= 3, "the seed has families on one ARK policy"
    before = len(sandbox.postfach(customer))

    item = rig.run(sandbox_ark_payload(customer, policy))
    assert item is not None and item.status == Status.DONE, item.error
    assert item.result is not None and item.result["insured_persons"] == names

    messages = sandbox.postfach(customer)
    assert len(messages) == before + 1
    message = messages[-1]
    assert message["message_id"] == item.result["message_id"]
    assert "Bescheinigung" in message["subject"] and "Thailand" in message["subject"]
    assert [a["filename"].rsplit("_", 1)[1] for a in message["attachments"]] == [
        "de.pdf", "en.pdf", "es.pdf", "fr.pdf"
    ]  # fmt: skip
    country = {"de": "Thailand", "en": "Thailand", "es": "Tailandia", "fr": "Thaïlande"}
    # one number for the request, the same in every language
    assert {c["number"] for c in item.result["certificates"]} == {item.result["certificate_number"]}
    assert "alle versicherten Personen" in message["body_text"] and "vier Sprachen" in message["body_text"]
    for attachment, cert in zip(message["attachments"], item.result["certificates"], strict=True):
        url = f"/admin/postfach/{customer}/{message['no']}/attachments/{attachment['idx']}"
        pdf = sandbox.admin.get(url).content
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        for person in policy["insured_persons"]:  # the persons table has a column for each part
            for part in (person["first_name"], person["last_name"]):
                assert part in text, f"{part} missing in the {cert['lang']} certificate"
        assert country[cert["lang"]] in text and cert["number"] in text
        assert store.artifact_bytes(cert["artifact_id"])[1] == pdf


def test_a_europe_only_tariff_to_the_usa_is_rejected_in_german(rig: Rig) -> None:
    sandbox = rig.sandbox
    customer, policy = sandbox.ark_policy("K100007")
    assert policy["travel_cover"]["area"] == "EUROPE"
    before = sandbox.postfach(customer)
    item = rig.run(sandbox_ark_payload(customer, policy, country="US"))
    assert item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "outside_area_of_cover"
    assert "Europa außer Deutschland" in item.error.message and "Vereinigte Staaten" in item.error.message
    assert sandbox.postfach(customer) == before
    assert (
        rig.run(sandbox_ark_payload(customer, policy, country="PT", languages=["de"])).status == Status.DONE
    )


def test_the_country_of_residence_is_no_trip_abroad(rig: Rig) -> None:
    sandbox = rig.sandbox
    customer, policy = sandbox.ark_policy("K100008")  # lives in Vienna
    item = rig.run(sandbox_ark_payload(customer, policy, country="AT"))
    assert item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "country_of_residence" and "Österreich" in item.error.message
    italy = rig.run(sandbox_ark_payload(customer, policy, country="IT", languages=["de"]))
    assert italy.status == Status.DONE and italy.result is not None
    (message,) = [m for m in sandbox.postfach(customer) if m["message_id"] == italy.result["message_id"]]
    pdf = sandbox.admin.get(f"/admin/postfach/{customer}/{message['no']}/attachments/0").content
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "ausgenommen das Wohnsitzland: Österreich" in text


def test_a_child_covered_later_is_left_out_and_the_mail_says_so(rig: Rig) -> None:
    sandbox = rig.sandbox
    customer, policy = sandbox.ark_policy("K100009")
    persons = [f"{p['first_name']} {p['last_name']}" for p in policy["insured_persons"]]
    later = [
        p for p in policy["insured_persons"] if p["covered_from"] > sandbox.clock.now().date().isoformat()
    ]
    assert [f"{p['first_name']} {p['last_name']}" for p in later] == ["Ella Weiß"]
    item = rig.run(sandbox_ark_payload(customer, policy, languages=["de", "en"]))  # departs 2026-12-24
    assert item.status == Status.DONE and item.result is not None, item.error
    assert item.result["insured_persons"] == persons[:3] and item.result["not_yet_covered"] == ["Ella Weiß"]
    (message,) = [m for m in sandbox.postfach(customer) if m["message_id"] == item.result["message_id"]]
    body = message["body_text"]
    assert "Nicht genannt ist, wer erst nach dem Reisebeginn versichert ist:" in body
    assert "Ella Weiß: versichert ab 1. Januar 2027" in body
    for attachment in message["attachments"]:
        url = f"/admin/postfach/{customer}/{message['no']}/attachments/{attachment['idx']}"
        text = " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(sandbox.admin.get(url).content)).pages
        )
        assert "Ella" not in text and "Mila" in text and "Inès" in text


def test_a_name_the_font_cannot_draw_goes_to_a_clerk(rig: Rig) -> None:
    store, sandbox = rig.store, rig.sandbox
    customer, policy = sandbox.ark_policy("K100010")
    number = policy["policy_number"]
    with sandbox.db.engine.begin() as conn:
        conn.execute(
            insured_persons.insert().values(
                policy_number=number, first_name="美咲", last_name="Çelik", birth_date=date(2019, 4, 1),
                role="Kind", covered_from=date(2019, 4, 1),
            )
        )  # fmt: skip
    try:
        item = rig.run(sandbox_ark_payload(customer, policy, languages=["de"]))
    finally:
        with sandbox.db.engine.begin() as conn:
            conn.execute(insured_persons.delete().where(insured_persons.c.first_name == "美咲"))
    assert item.status == Status.HANDED_OFF, item.error
    assert item.attempts == 1  # no retries: a clerk decides
    (case,) = store.cases(item_id=item.id)
    assert (case.unit, case.reason_code) == ("Kranken", "unprintable_name")
    assert "美咲 Çelik" in case.note and "U+7F8E" in case.note and number in case.note


def test_a_retry_after_delivery_never_delivers_twice(rig: Rig) -> None:
    runner, store, sandbox, clock = rig.runner, rig.store, rig.sandbox, rig.sandbox.clock
    customer, policy = sandbox.ark_policies()[0]

    class CrashAfterSend(Mailer):
        """The worker dies right after the SMTP server took the message, before the checkpoint."""

        crashed = False

        def send(self, msg: EmailMessage) -> str:
            message_id = super().send(msg)
            if not CrashAfterSend.crashed:
                CrashAfterSend.crashed = True
                raise ConnectionResetError("lost after sending")
            return message_id

    runner.mailer = CrashAfterSend(sandbox.server.smtp_host, sandbox.server.smtp_port, "bot@portalbots.test")
    before = len(sandbox.postfach(customer))
    item_id = rig.submit(sandbox_ark_payload(customer, policy, languages=["de"]))
    first = runner.run(item_id)
    assert first is not None and first.status == Status.DEFERRED
    assert first.defer_reason == DeferReason.RETRY_BACKOFF
    clock.advance(timedelta(minutes=5))
    store.release_due()
    final = runner.run(item_id)
    assert final is not None and final.status == Status.DONE
    messages = sandbox.postfach(customer)
    assert len(messages) == before + 1 and messages[-1]["duplicates"] == 1


def test_someone_elses_policy_is_rejected_in_german(rig: Rig) -> None:
    sandbox = rig.sandbox
    (owner, policy), (other, _) = sandbox.ark_policies()[:2]
    assert owner != other
    before = sandbox.postfach(other)
    item = rig.run(sandbox_ark_payload(other, policy))
    assert item is not None and item.status == Status.REJECTED
    assert item.error is not None and item.error.code == "not_customers_policy"
    assert "Vertrag" in item.error.message
    assert sandbox.postfach(other) == before


def test_trip_to_germany_is_rejected_without_the_core_system(rig: Rig) -> None:
    sandbox = rig.sandbox
    sandbox.set_faults(force_closed=True)
    customer, policy = sandbox.ark_policies()[0]
    item = rig.run(sandbox_ark_payload(customer, policy, country="DE"))
    assert item is not None and item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "home_country"


def test_a_trip_to_germany_on_saturday_night_is_rejected_at_once(rig: Rig) -> None:
    """The precheck runs before the service-window gate: no deferral until Monday for a bad request."""
    store, sandbox = rig.store, rig.sandbox
    sandbox.clock.set(SATURDAY_23)
    customer, policy = sandbox.ark_policies()[0]
    item = rig.run(sandbox_ark_payload(customer, policy, country="DE"))
    assert item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "home_country" and item.not_before is None
    moves = [(e.from_state, e.to_state) for e in store.events("item", item.id)]
    assert moves == [(None, "pending"), ("pending", "running"), ("running", "rejected")]


def test_saturday_night_waits_for_monday_opening(rig: Rig) -> None:
    runner, store, sandbox, clock = rig.runner, rig.store, rig.sandbox, rig.sandbox.clock
    clock.set(SATURDAY_23)
    customer, policy = sandbox.ark_policies()[0]
    item_id = rig.submit(sandbox_ark_payload(customer, policy, languages=["en"]))
    deferred = runner.run(item_id)
    assert deferred is not None and deferred.status == Status.DEFERRED
    assert deferred.not_before == MONDAY_07
    assert deferred.attempts == 0

    clock.set(MONDAY_07)
    assert [i.id for i in store.release_due()] == [item_id]
    done = runner.run(item_id)
    assert done is not None and done.status == Status.DONE


def test_closed_page_defers_to_the_systems_own_opening(rig: Rig) -> None:
    sandbox = rig.sandbox
    sandbox.set_faults(force_closed=True)
    customer, policy = sandbox.ark_policies()[0]
    item = rig.run(sandbox_ark_payload(customer, policy, languages=["de"]))
    assert item is not None and item.status == Status.DEFERRED
    assert item.defer_reason == DeferReason.SERVICE_WINDOW and item.attempts == 0


def test_changed_layout_fails_the_step_with_a_screenshot(rig: Rig) -> None:
    store, sandbox = rig.store, rig.sandbox
    sandbox.set_faults(alt_layout=True)
    customer, policy = sandbox.ark_policies()[0]
    item = rig.run(sandbox_ark_payload(customer, policy, languages=["de"]))
    assert item is not None and item.status == Status.DEFERRED
    assert item.defer_reason == DeferReason.RETRY_BACKOFF and item.attempts == 1
    # the page objects name what is missing instead of waiting for a timeout
    assert item.error is not None and item.error.code == "LayoutChanged", item.error
    assert "#policy-data" in item.error.message
    shots = [a for a in store.artifacts(item.id) if a.kind == SCREENSHOT_KIND]
    assert len(shots) == 1
    assert store.artifact_bytes(shots[0].id)[1].startswith(b"\x89PNG")


def test_an_smtp_outage_heals_without_an_operator(rig: Rig) -> None:
    """Two items in flight, the Postfach SMTP down for 60 s: the breaker pauses the queue, alerts the
    supervisors (the alert waits in the outbox until SMTP is back), lets one trial through after its cool-down,
    resumes, and both certificates arrive once."""
    runner, store, sandbox = rig.runner, rig.store, rig.sandbox
    clock = sandbox.clock
    runner.breaker.threshold = 3
    (c1, p1), (c2, p2) = sandbox.ark_policies()[:2]
    before = {c: len(sandbox.postfach(c)) for c in (c1, c2)}
    alerts_before = len(sandbox.admin.get("/admin/mailboxes/leitstand").json()["messages"])
    sandbox.set_faults(smtp_down=True)
    back_at = clock.now() + timedelta(seconds=60)
    ids = [
        rig.submit(sandbox_ark_payload(c1, p1, languages=["de"])),
        rig.submit(sandbox_ark_payload(c2, p2, languages=["en"])),
    ]
    sent = Recorder()
    sent.sent.extend(ids)
    for _ in range(60):  # the workers run what was sent; housekeeping ticks every 10 s
        for item_id in list(dict.fromkeys(sent.sent)):
            runner.run(item_id)
        sent.sent.clear()
        unsent = [m for m in store.outbox() if m.sent_at is None]
        if all(store.get(i).status == Status.DONE for i in ids) and not unsent:
            break
        clock.advance(timedelta(seconds=10))
        if clock.now() >= back_at:
            sandbox.set_faults(smtp_down=False)
        tick(store, sent, mailer=runner.mailer)
    assert [store.get(i).status for i in ids] == [Status.DONE, Status.DONE]
    for customer, item_id in zip((c1, c2), ids, strict=True):
        messages = sandbox.postfach(customer)
        assert len(messages) == before[customer] + 1  # once: SMTP refused the earlier attempts outright
        assert messages[-1]["message_id"] == store.get(item_id).result["message_id"]  # type: ignore[index]

    moves = [(e.from_state, e.to_state) for e in store.events("queue", "ark_certificate")]
    assert moves[0] == ("running", "paused") and moves[-1] == ("paused", "running")
    assert ("paused", "half_open") in moves
    alerts = sandbox.admin.get("/admin/mailboxes/leitstand").json()["messages"][alerts_before:]
    assert [a["subject"] for a in alerts] == [
        "[PortalBots] Warteschlange ark_certificate angehalten",
        "[PortalBots] Warteschlange ark_certificate läuft wieder",
    ]
    assert all(m.sent_at is not None for m in store.outbox())


def test_a_refused_customer_hears_back_in_the_postfach_once(rig: Rig) -> None:
    runner, store, sandbox = rig.runner, rig.store, rig.sandbox
    (_owner, policy), (other, _) = sandbox.ark_policies()[:2]
    before = len(sandbox.postfach(other))
    item = rig.run(sandbox_ark_payload(other, policy))
    assert item.status == Status.REJECTED
    assert item.due_at is None or item.due_at > item.created_at
    for _ in range(2):  # housekeeping sends the outbox; a second round sends nothing again
        tick(store, Recorder(), mailer=runner.mailer)
    messages = sandbox.postfach(other)
    assert len(messages) == before + 1
    notice = messages[-1]
    assert notice["subject"].startswith("Ihre Anfrage: Bescheinigung Ihrer Auslandsreise-Krankenversicherung")
    assert policy["policy_number"] in notice["subject"]
    assert item.error is not None and item.error.message.split(".")[0] in notice["body_text"].replace(
        "\r\n", "\n"
    )
    assert "Kontaktformular" in notice["body_text"] and not notice["attachments"]


def test_the_due_date_is_the_close_of_the_next_working_day(sandbox: Sandbox, tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'due.db'}")
    store = Store(f"sqlite:///{tmp_path / 'due.db'}", sandbox.clock)
    friday_evening = datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN)
    sandbox.clock.set(friday_evening)
    submitter = Submitter(store, Recorder(), sandbox.runtime_settings(tmp_path))
    item, _ = submitter.submit(
        ArkCertificateBot(sandbox.ark_settings()), make_ark_request(travel_start="2026-12-10")
    )
    assert item.due_at == datetime(2026, 11, 30, 19, 0, tzinfo=BERLIN)
    store.dispose()
