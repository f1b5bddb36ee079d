"""The ARK bot end to end: real sandbox web UI in headless Chromium, real SMTP Postfach, real PDFs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pypdf import PdfReader

from bots.ark_certificate.bot import ArkCertificateBot
from bots.runtime.bot import Registry
from bots.runtime.browser import SCREENSHOT_KIND, ProcessBrowser
from bots.runtime.clock import FixedClock
from bots.runtime.mail import Mailer
from bots.runtime.runner import Runner
from bots.runtime.settings import Settings
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store
from sandbox.seed import summarize
from sandbox.server import SandboxServer

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, FixedClock]]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    clock = FixedClock(TUESDAY_10)
    settings = Settings(data_dir=tmp_path_factory.mktemp("sandbox"), _env_file=None)
    with SandboxServer(settings, clock, customers=30) as server:
        yield server, clock


@pytest.fixture(scope="module")
def browser() -> Iterator[ProcessBrowser]:
    b = ProcessBrowser(Settings(_env_file=None), timeout_ms=3000, trace=False)
    yield b
    b.close()


@pytest.fixture
def rig(
    sandbox: tuple[SandboxServer, FixedClock], browser: ProcessBrowser, db_url: str, tmp_path: Path
) -> Iterator[tuple[Runner, Store, SandboxServer, FixedClock]]:
    server, clock = sandbox
    clock.set(TUESDAY_10)
    httpx.post(f"{server.url}/admin/faults/reset")
    settings = Settings(
        data_dir=tmp_path,
        sandbox_url=server.url,
        smtp_host=server.smtp_host,
        smtp_port=server.smtp_port,
        _env_file=None,
    )
    store = Store(db_url, clock)
    runner = Runner(store, Registry([ArkCertificateBot()]), settings, clock, resources={"browser": browser})
    yield runner, store, server, clock
    store.dispose()


def ark_policies(server: SandboxServer) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c["customer_id"], p)
        for c in summarize(server.db).customers
        for p in c["policies"]
        if p["line"] == "ARK" and p["status"] == "aktiv" and p["end_date"] is None
    ]


def family(server: SandboxServer) -> tuple[str, dict[str, Any]]:
    return max(ark_policies(server), key=lambda cp: len(cp[1]["insured_persons"]))


def request(customer: str, policy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    start = TUESDAY_10.date() + timedelta(days=30)
    body = {
        "customer_id": customer,
        "policy_number": policy["policy_number"],
        "travel_start": start.isoformat(),
        "travel_end": (start + timedelta(days=14)).isoformat(),
        "country": "TH",
        "languages": ["de", "en", "es", "fr"],
    }
    return {**body, **changes}


def submit(store: Store, payload: dict[str, Any]) -> int:
    item, _ = store.submit("ark_certificate", payload, customer_id=payload["customer_id"])
    return item.id


def postfach(server: SandboxServer, customer: str) -> list[dict[str, Any]]:
    return httpx.get(f"{server.url}/admin/postfach/{customer}").json()["messages"]


def test_family_gets_every_name_in_every_language(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, _ = rig
    customer, policy = family(server)
    names = [f"{p['first_name']} {p['last_name']}" for p in policy["insured_persons"]]
    assert len(names) >= 3, "the seed has families on one ARK policy"
    before = len(postfach(server, customer))

    item = runner.run(submit(store, request(customer, policy)))
    assert item is not None and item.status == Status.DONE, item.error
    assert item.result is not None and item.result["insured_persons"] == names

    messages = postfach(server, customer)
    assert len(messages) == before + 1
    message = messages[-1]
    assert message["message_id"] == item.result["message_id"]
    assert "Bescheinigung" in message["subject"] and "Thailand" in message["subject"]
    assert [a["filename"].rsplit("_", 1)[1] for a in message["attachments"]] == [
        "de.pdf", "en.pdf", "es.pdf", "fr.pdf"
    ]  # fmt: skip
    country = {"de": "Thailand", "en": "Thailand", "es": "Tailandia", "fr": "Thaïlande"}
    for attachment, cert in zip(message["attachments"], item.result["certificates"], strict=True):
        url = f"{server.url}/admin/postfach/{customer}/{message['no']}/attachments/{attachment['idx']}"
        pdf = httpx.get(url).content
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        for person in policy["insured_persons"]:  # the persons table has a column for each part
            for part in (person["first_name"], person["last_name"]):
                assert part in text, f"{part} missing in the {cert['lang']} certificate"
        assert country[cert["lang"]] in text and cert["number"] in text
        assert store.artifact_bytes(cert["artifact_id"])[1] == pdf


def test_a_retry_after_delivery_never_delivers_twice(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, clock = rig
    customer, policy = ark_policies(server)[0]

    class CrashAfterSend(Mailer):
        """The worker dies right after the SMTP server took the message, before the checkpoint."""

        crashed = False

        def send(self, msg: EmailMessage) -> str:
            message_id = super().send(msg)
            if not CrashAfterSend.crashed:
                CrashAfterSend.crashed = True
                raise ConnectionResetError("lost after sending")
            return message_id

    runner.mailer = CrashAfterSend(server.smtp_host, server.smtp_port, "bot@portalbots.test")
    before = len(postfach(server, customer))
    item_id = submit(store, request(customer, policy, languages=["de"]))
    first = runner.run(item_id)
    assert first is not None and first.status == Status.DEFERRED
    assert first.defer_reason == DeferReason.RETRY_BACKOFF
    clock.advance(timedelta(minutes=5))
    store.release_due()
    final = runner.run(item_id)
    assert final is not None and final.status == Status.DONE
    messages = postfach(server, customer)
    assert len(messages) == before + 1 and messages[-1]["duplicates"] == 1


def test_someone_elses_policy_is_rejected_in_german(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, _ = rig
    (owner, policy), (other, _) = ark_policies(server)[:2]
    assert owner != other
    before = postfach(server, other)
    item = runner.run(submit(store, request(other, policy)))
    assert item is not None and item.status == Status.REJECTED
    assert item.error is not None and item.error.code == "not_customers_policy"
    assert "Vertrag" in item.error.message
    assert postfach(server, other) == before


def test_trip_to_germany_is_rejected_without_the_core_system(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, _ = rig
    httpx.put(f"{server.url}/admin/faults", json={"force_closed": True})
    customer, policy = ark_policies(server)[0]
    item = runner.run(submit(store, request(customer, policy, country="DE")))
    assert item is not None and item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "home_country"


def test_saturday_night_waits_for_monday_opening(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, clock = rig
    clock.set(datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN))
    customer, policy = ark_policies(server)[0]
    item_id = submit(store, request(customer, policy, languages=["en"]))
    deferred = runner.run(item_id)
    assert deferred is not None and deferred.status == Status.DEFERRED
    assert deferred.not_before == datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN)
    assert deferred.attempts == 0

    clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN))
    assert [i.id for i in store.release_due()] == [item_id]
    done = runner.run(item_id)
    assert done is not None and done.status == Status.DONE


def test_closed_page_defers_to_the_systems_own_opening(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, _ = rig
    httpx.put(f"{server.url}/admin/faults", json={"force_closed": True})
    customer, policy = ark_policies(server)[0]
    item = runner.run(submit(store, request(customer, policy, languages=["de"])))
    assert item is not None and item.status == Status.DEFERRED
    assert item.defer_reason == DeferReason.SERVICE_WINDOW and item.attempts == 0


def test_changed_layout_fails_the_step_with_a_screenshot(
    rig: tuple[Runner, Store, SandboxServer, FixedClock],
) -> None:
    runner, store, server, _ = rig
    httpx.put(f"{server.url}/admin/faults", json={"alt_layout": True})
    customer, policy = ark_policies(server)[0]
    item = runner.run(submit(store, request(customer, policy, languages=["de"])))
    assert item is not None and item.status == Status.DEFERRED
    assert item.defer_reason == DeferReason.RETRY_BACKOFF and item.attempts == 1
    assert item.error is not None and "Timeout" in (item.error.traceback or "")
    shots = [a for a in store.artifacts(item.id) if a.kind == SCREENSHOT_KIND]
    assert len(shots) == 1
    assert store.artifact_bytes(shots[0].id)[1].startswith(b"\x89PNG")
