"""The sandbox pages in real Chromium: the element contract works for page objects; screenshots for a look."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bots.runtime.browser import ProcessBrowser
from bots.runtime.clock import FixedClock
from sandbox.postfach import postfach_address
from sandbox.server import SandboxServer
from tests.conftest import SATURDAY_23, Sandbox

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "sandbox"


@pytest.fixture(scope="module")
def page(
    sandbox_module: Sandbox, process_browser: ProcessBrowser
) -> Iterator[tuple[Page, SandboxServer, FixedClock]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sandbox_module.reset()
    # the session's browser: one Playwright driver per thread, as in a worker process
    context = process_browser.browser().new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    yield context.new_page(), sandbox_module.server, sandbox_module.clock
    context.close()
    sandbox_module.reset()


def test_main_pages_through_the_element_contract(page: tuple[Page, SandboxServer, FixedClock]) -> None:
    p, server, clock = page
    p.goto(f"{server.url}/kunden/K100001")
    assert p.url.endswith("/login?next=/kunden/K100001")
    p.screenshot(path=SHOTS / "login.png", full_page=True)
    p.fill("#username", "robot")
    p.fill("#password", "robot-pw")
    p.click("#login-submit")
    p.wait_for_url("**/kunden/K100001")
    assert p.locator("#customer-data [data-field=last-name]").inner_text() == "Öztürk-Şahin"
    p.screenshot(path=SHOTS / "customer.png", full_page=True)

    p.click("#nav-search")
    p.fill("#search-query", "weiss")
    p.click("#search-submit")
    assert "K100009" in p.locator("[data-field=search-result] [data-field=customer-id]").all_inner_texts()
    p.screenshot(path=SHOTS / "search.png", full_page=True)

    p.goto(f"{server.url}/vertraege/ARK-4711-0001")
    rows = p.locator("[data-field=insured-person]")
    assert rows.count() == 4
    assert rows.nth(2).locator("[data-field=birth-date]").get_attribute("data-value") == "2012-05-04"
    assert p.locator("#account-debit-holder").count() == 0  # the holder is the policy holder, not typed
    p.fill("#account-debit-iban", "DE89 3704 0044 0532 0130 01")
    p.fill("#account-debit-authority", "clerk:Erika Mustermann")
    p.click("#account-debit-submit")
    assert "Prüfziffer" in p.locator("#account-debit-error").inner_text()
    assert p.locator("#account-debit-authority").input_value() == "clerk:Erika Mustermann"  # kept
    p.screenshot(path=SHOTS / "policy-error.png", full_page=True)
    # a clerk corrects the IBAN: the change is stored and the history names her
    p.fill("#account-debit-iban", "DE89 3704 0044 0532 0130 00")
    p.click("#account-debit-submit")
    assert p.locator("#account-debit-saved").count() == 1
    assert p.locator("#account-debit [data-field=holder]").inner_text() == "Łucja Öztürk-Şahin"
    change = p.locator("#account-history [data-field=account-change]")
    assert change.count() == 1
    assert change.locator("[data-field=authority]").get_attribute("data-value") == "clerk:Erika Mustermann"
    assert change.locator("[data-field=authority]").inner_text() == "Sachbearbeitung: Erika Mustermann"
    assert change.locator("[data-field=new-iban]").inner_text() == "DE89 3704 0044 0532 0130 00"
    p.locator("#account-history").scroll_into_view_if_needed()
    p.screenshot(path=SHOTS / "policy-history.png", full_page=True)
    p.goto(f"{server.url}/vertraege/KV-4712-0002")
    p.screenshot(path=SHOTS / "policy.png", full_page=True)
    p.goto(f"{server.url}/vertraege/LV-4713-0006")  # the holder is the policy's own intermediary
    assert "Vermittler" in p.locator("#critical-process").inner_text()
    assert (
        p.locator("#policy-data [data-field=intermediary-customer-id]").get_attribute("data-value")
        == "K100013"
    )
    p.screenshot(path=SHOTS / "policy-intermediary.png", full_page=True)

    msg = EmailMessage()
    msg["From"] = "portalbots@portalbots.test"
    msg["To"] = postfach_address("K100001")
    msg["Subject"] = "Ihre Reiseversicherungsbescheinigung"
    msg.set_content("Sehr geehrte Frau Öztürk-Şahin,\n\nanbei Ihre Bescheinigungen.\n\nIhre PortalBots")
    msg.add_attachment(b"%PDF-1.7 de", maintype="application", subtype="pdf", filename="Bescheinigung_de.pdf")
    msg.add_attachment(b"%PDF-1.7 en", maintype="application", subtype="pdf", filename="Certificate_en.pdf")
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)
    p.goto(f"{server.url}/postfach/K100001")
    p.screenshot(path=SHOTS / "postfach.png", full_page=True)
    p.click("[data-field=message-link]")
    assert p.locator("[data-field=attachment]").count() == 2
    p.screenshot(path=SHOTS / "postfach-message.png", full_page=True)

    clock.set(SATURDAY_23)
    response = p.goto(f"{server.url}/suche")
    assert response is not None and response.status == 503
    assert p.locator("#system-unavailable [data-field=next-opening]").get_attribute("data-value") == (
        "2026-11-30T06:00:00+00:00"
    )
    p.screenshot(path=SHOTS / "unavailable.png", full_page=True)
