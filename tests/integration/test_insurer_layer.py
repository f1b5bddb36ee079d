"""A bot built on the runtime and the insurer layer alone (no other bot's code): it reads a policy and its
holder through the shared page objects and sends the customer a letter into the Postfach, exactly once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Request
from pydantic import BaseModel
from pypdf import PdfReader
from reportlab.platypus import Paragraph

from bots.insurer.facts import Account, AccountChange, Customer, Policy, TravelCover
from bots.insurer.letterhead import (
    DocumentInfo,
    house_styles,
    insurer_from_settings,
    label_table,
    letterhead,
    render_document,
)
from bots.insurer.pages import SYSTEM, PolicyAdmin, open_policy_admin
from bots.insurer.postfach import Attachment, Postfach, message_id
from bots.insurer.settings import InsurerSettings
from bots.runtime.bot import Bot, Registry
from bots.runtime.browser import ProcessBrowser
from bots.runtime.context import Context
from bots.runtime.mail import Mailer
from bots.runtime.models import WorkItem
from bots.runtime.runner import Runner
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store
from tests.conftest import TUESDAY_10, Sandbox

pytestmark = pytest.mark.browser


class LetterRequest(BaseModel):
    customer_id: str
    policy_number: str


class PolicyLetterBot(Bot):
    """Writes a customer a one-page letter about one of their policies."""

    queue = "policy_letter"
    route = "policy-letters"
    title = "Vertragsauskunft (Test)"
    request_model = LetterRequest
    systems = (SYSTEM,)

    def __init__(self, settings: InsurerSettings) -> None:
        self.settings = settings
        self.postfach = Postfach(settings)

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        request = LetterRequest.model_validate(item.payload)
        with open_policy_admin(ctx, self.settings) as admin:
            policy = admin.policy(request.policy_number)
            holder = admin.customer(request.customer_id)
        assert policy is not None and holder is not None
        insurer = insurer_from_settings(self.settings)
        story = [
            letterhead(insurer, "Telefon"),
            Paragraph(f"Ihr Vertrag {policy.policy_number}", house_styles()["title"]),
            label_table([("Tarif", policy.tariff.name), ("Versicherungsnehmer", holder.full_name)]),
        ]
        info = DocumentInfo(
            f"Vertragsauskunft {policy.policy_number}", "Vertragsauskunft", "de-DE", insurer.name
        )
        pdf = render_document(story, insurer, info, lambda page, pages: (f"Seite {page} von {pages}",))
        delivery = self.postfach.deliver(
            ctx,
            request.customer_id,
            f"Ihre Vertragsauskunft {policy.policy_number}",
            "Guten Tag,\n\nanbei die Auskunft zu Ihrem Vertrag.\n",
            [Attachment("Vertragsauskunft.pdf", pdf)],
        )
        return {**delivery, "insured": [p.full_name for p in policy.insured_persons]}


@dataclass
class Rig:
    runner: Runner
    store: Store
    sandbox: Sandbox

    def run(self, customer: str, policy: str) -> WorkItem:
        item, _ = self.store.submit("policy_letter", {"customer_id": customer, "policy_number": policy})
        out = self.runner.run(item.id)
        assert out is not None
        return out


@pytest.fixture
def rig(sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path) -> Iterator[Rig]:
    store = Store(db_url, sandbox.clock)
    bot = PolicyLetterBot(sandbox.insurer_settings())
    runner = Runner(
        store,
        Registry([bot]),
        sandbox.runtime_settings(tmp_path),
        sandbox.clock,
        resources={"browser": process_browser},
    )
    yield Rig(runner, store, sandbox)
    store.dispose()


def test_a_letter_reaches_the_postfach_once_even_after_a_crash(rig: Rig) -> None:
    class CrashAfterSend(Mailer):
        """The worker dies right after the SMTP server took the message, before the checkpoint."""

        crashed = False

        def send(self, msg: EmailMessage) -> str:
            sent = super().send(msg)
            if not CrashAfterSend.crashed:
                CrashAfterSend.crashed = True
                raise ConnectionResetError("lost after sending")
            return sent

    server = rig.sandbox.server
    rig.runner.mailer = CrashAfterSend(server.smtp_host, server.smtp_port, "bot@portalbots.test")
    before = len(rig.sandbox.postfach("K100001"))
    first = rig.run("K100001", "ARK-4711-0001")
    assert first.status == Status.DEFERRED and first.defer_reason == DeferReason.RETRY_BACKOFF
    rig.sandbox.clock.advance(first.not_before - rig.sandbox.clock.now())  # type: ignore[operator]
    rig.store.release_due()
    done = rig.runner.run(first.id)
    assert done is not None and done.status == Status.DONE, done
    assert done.result is not None and done.result["insured"][0] == "Łucja Öztürk-Şahin"

    messages = rig.sandbox.postfach("K100001")
    assert len(messages) == before + 1 and messages[-1]["duplicates"] == 1
    assert messages[-1]["message_id"] == message_id("policy_letter", first.reference)
    url = f"/admin/postfach/K100001/{messages[-1]['no']}/attachments/0"
    text = PdfReader(io.BytesIO(rig.sandbox.admin.get(url).content)).pages[0].extract_text()
    assert "ARK-4711-0001" in text and "Łucja Öztürk-Şahin" in text and "Beispiel Krankenversicherung" in text
    assert "Seite 1 von 1" in text  # the letterhead's page frame counts the pages of every document

    # run once more (a duplicate broker message after the end): nothing is sent again
    assert rig.runner.run(first.id) is None
    assert len(rig.sandbox.postfach("K100001")) == before + 1


@pytest.fixture
def admin(sandbox: Sandbox, process_browser: ProcessBrowser, tmp_path: Path) -> Iterator[PolicyAdmin]:
    settings = sandbox.insurer_settings()
    context = process_browser.browser().new_context(base_url=settings.policy_admin_url)
    context.set_default_timeout(3000)
    yield PolicyAdmin(context.new_page(), settings.robot_user, settings.robot_password.get_secret_value())
    context.close()


def test_the_page_objects_read_what_every_bot_needs(admin: PolicyAdmin) -> None:
    policy = admin.policy("KV-4712-0002")
    assert isinstance(policy, Policy)
    assert (policy.line, policy.business_unit, policy.health_department) == ("KV", "Kranken", "Zusatz")
    assert policy.critical.dunning_active and policy.critical.running == ("dunning_active",)
    assert isinstance(policy.accounts["debit"], Account) and policy.accounts["debit"].iban.startswith("DE")

    komposit = admin.policy("KO-4714-0001")
    assert komposit is not None and komposit.accounts["credit"] is None and komposit.insured_persons == ()

    customer = admin.customer("K100002")
    assert isinstance(customer, Customer) and customer.is_intermediary
    assert customer.full_name == "Zoltán Kovács-Nagyő" and customer.country == "DE"
    assert [p.policy_number for p in customer.policies] == ["ARK-4711-0002", "KO-4714-0001"]
    assert customer.birth_date < date(2010, 1, 1)

    assert admin.policy("ARK-0000-0000") is None and admin.customer("K999999") is None


def test_the_page_objects_read_the_travel_tariffs_cover_and_each_persons_cover(admin: PolicyAdmin) -> None:
    family = admin.policy("ARK-4711-0001")
    assert family is not None and family.tariff.max_trip_days == 42
    assert family.tariff.travel == TravelCover(
        "WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True
    )
    assert {p.covered_from for p in family.insured_persons} == {date(2019, 1, 1)}
    europe = admin.policy("ARK-4711-0005")
    assert europe is not None and europe.tariff.travel is not None
    assert (europe.tariff.travel.area, europe.tariff.travel.sum_insured_eur) == ("EUROPE", Decimal(250000))
    basic = admin.policy("ARK-4711-0003")
    assert basic is not None and basic.tariff.travel is not None
    assert basic.tariff.travel.deductible_eur == Decimal(150) and not basic.tariff.travel.direct_settlement
    later = admin.policy("ARK-4711-0007")
    assert later is not None and later.insured_persons[-1].covered_from == date(2027, 1, 1)
    kv = admin.policy("KV-4712-0002")
    assert kv is not None and kv.tariff.travel is None
    vienna = admin.customer("K100008")
    assert vienna is not None and vienna.country == "AT"


@pytest.mark.parametrize(
    ("field", "value"),
    [("area", None), ("sum-insured", "viel"), ("deductible", "-5.00"), ("cover-hospital", "ja")],
)
def test_an_ark_card_without_readable_cover_is_a_layout_change(
    admin: PolicyAdmin, field: str, value: str | None
) -> None:
    from bots.insurer.pages import LayoutChanged
    from bots.insurer.pages.policy import PolicyPage

    admin.policy("ARK-4711-0001")
    page = admin.page
    selector = f"#policy-tariff [data-field={field}]"
    if value is None:
        page.evaluate(f"document.querySelector('{selector}').remove()")
    else:
        page.evaluate(f"document.querySelector('{selector}').setAttribute('data-value', '{value}')")
    with pytest.raises(LayoutChanged, match=field):
        PolicyPage(page).read()


def test_a_changed_layout_names_the_missing_element(admin: PolicyAdmin, sandbox: Sandbox) -> None:
    from bots.insurer.pages import LayoutChanged

    admin.policy("ARK-4711-0001")  # logged in
    sandbox.set_faults(alt_layout=True)
    with pytest.raises(LayoutChanged, match="#policy-data"):
        admin.policy("ARK-4711-0001")
    with pytest.raises(LayoutChanged, match="#customer-data"):
        admin.customer("K100001")


def test_a_closed_system_says_when_it_opens(admin: PolicyAdmin, sandbox: Sandbox) -> None:
    from bots.runtime.errors import SystemUnavailable
    from tests.conftest import MONDAY_07, SATURDAY_23

    sandbox.clock.set(SATURDAY_23)
    with pytest.raises(SystemUnavailable) as info:
        admin.policy("ARK-4711-0001")
    assert info.value.system == SYSTEM and info.value.until == MONDAY_07


class PeekRequest(BaseModel):
    customer_id: str
    leave: str = ""  # what this item leaves in its page (local storage and a cookie)


class PeekBot(Bot):
    """Opens a policy page, reports what it finds of earlier items, and leaves something of its own."""

    queue = "peek"
    route = "peeks"
    title = "Peek (Test)"
    request_model = PeekRequest
    systems = (SYSTEM,)

    def __init__(self, settings: InsurerSettings) -> None:
        self.settings = settings

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        request = PeekRequest.model_validate(item.payload)
        with open_policy_admin(ctx, self.settings) as admin:
            assert admin.policy("ARK-4711-0001") is not None
            found = admin.page.evaluate("[localStorage.getItem('left'), document.cookie]")
            admin.page.evaluate(
                "v => { localStorage.setItem('left', v); document.cookie = 'left=' + v + '; path=/'; }",
                request.leave,
            )
        return {"storage": found[0], "cookie": found[1]}


@pytest.fixture
def peek(sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path) -> Iterator[Rig]:
    store = Store(db_url, sandbox.clock)
    settings = sandbox.runtime_settings(tmp_path)
    runner = Runner(
        store,
        Registry([PeekBot(sandbox.insurer_settings())]),
        settings,
        sandbox.clock,
        resources={"browser": process_browser},
    )
    yield Rig(runner, store, sandbox)
    store.dispose()


def run_peek(rig: Rig, leave: str) -> dict[str, Any]:
    item, _ = rig.store.submit("peek", {"customer_id": "K1", "leave": leave})
    out = rig.runner.run(item.id)
    assert out is not None and out.status == Status.DONE, out
    return dict(out.result or {})


def test_the_robot_logs_in_once_per_process_and_again_when_its_session_ends(peek: Rig) -> None:
    logins = lambda: peek.sandbox.admin.get("/admin/sessions").json()["logins"]  # noqa: E731
    peek.sandbox.admin.post("/admin/sessions/expire").raise_for_status()  # whatever an earlier test left
    before = logins()
    run_peek(peek, "a")
    run_peek(peek, "b")
    assert logins() == before + 1  # the second item used the session the first one logged in with
    peek.sandbox.admin.post("/admin/sessions/expire").raise_for_status()
    run_peek(peek, "c")  # the system no longer knows the session: the item logs in again
    assert logins() == before + 2


def test_items_never_see_each_others_page_state(peek: Rig) -> None:
    run_peek(peek, "first")
    second = run_peek(peek, "second")
    assert second["storage"] is None and "left=" not in second["cookie"]


# -- the account form and its history (the bank change bot's part of the policy administration) ----------


def test_the_page_objects_change_both_accounts_and_read_the_history_with_the_policy(
    admin: PolicyAdmin, sandbox: Sandbox
) -> None:
    number = "LV-4713-0005"  # K100012: two clean policies
    before = admin.policy(number)
    assert before is not None and before.account_history == () and not before.critical.running
    assert (
        before.accounts["debit"] is not None and before.accounts["debit"].mandate_reference == f"{number}-M01"
    )
    assert before.intermediary_customer_id == "K100002" and not before.holder_is_intermediary
    old_debit, old_credit = before.accounts["debit"], before.accounts["credit"]
    assert old_debit is not None and old_credit is not None

    debit = admin.change_account(number, "debit", "de89 3704 0044 0532 0130 00", "bot")
    assert debit == Account(
        "debit",
        "DE89370400440532013000",
        "COBADEFFXXX",
        "Commerzbank",
        "Björn Sørensen-Groß",
        f"{number}-M02",
    )  # a new debit account, a new SEPA mandate
    sandbox.clock.advance(timedelta(minutes=3))
    credit = admin.change_account(number, "credit", "NL91ABNA0417164300", "clerk:Erika Mustermann")
    assert (credit.iban, credit.bic, credit.holder) == (
        "NL91ABNA0417164300",
        "ABNANL2A",
        "Björn Sørensen-Groß",
    )

    after = admin.policy(number)
    assert after is not None and after.accounts == {"debit": debit, "credit": credit}
    assert after.account_history == (
        AccountChange(
            "credit", old_credit.iban, "NL91ABNA0417164300", "ABNANL2A",
            (TUESDAY_10 + timedelta(minutes=3)).astimezone(UTC), "clerk:Erika Mustermann",
            "ABN AMRO BANK N.V.", "robot",
        ),
        AccountChange(
            "debit", old_debit.iban, "DE89370400440532013000", "COBADEFFXXX", TUESDAY_10.astimezone(UTC), "bot",
            "Commerzbank", "robot",
        ),
    )  # fmt: skip
    assert admin.account_history(number) == after.account_history

    # the policy already shows the IBAN (a retry after a crash): nothing is sent, no second history row
    assert admin.change_account(number, "debit", "DE89 3704 0044 0532 0130 00", "bot") == debit
    assert len(sandbox.admin.get(f"/admin/policies/{number}/accounts").json()["history"]) == 2


def test_a_policy_just_read_is_changed_without_loading_its_screen_again(
    admin: PolicyAdmin, sandbox: Sandbox
) -> None:
    number, other = "KV-4712-0011", "LV-4713-0007"  # K100014's two policies, used by no other test here
    admin.policy(other)  # logs in
    loads: list[str] = []

    def navigation(request: Request) -> None:
        if request.is_navigation_request():
            loads.append(f"{request.method} {urlsplit(request.url).path}")

    admin.page.on("request", navigation)
    admin.policy(number)
    admin.change_account(number, "debit", "DE89370400440532013000", "bot")
    admin.change_account(number, "credit", "NL91ABNA0417164300", "bot")
    admin.change_account(other, "debit", "DE89370400440532013000", "bot")  # not the screen shown: loaded
    assert loads == [
        f"GET /vertraege/{number}",
        f"POST /vertraege/{number}/konten/debit",
        f"GET /vertraege/{number}",  # the system's answer: see other (303) to the policy's screen
        f"POST /vertraege/{number}/konten/credit",
        f"GET /vertraege/{number}",
        f"GET /vertraege/{other}",
        f"POST /vertraege/{other}/konten/debit",
        f"GET /vertraege/{other}",
    ]
    history = sandbox.admin.get(f"/admin/policies/{number}/accounts").json()["history"]
    assert sorted(change["role"] for change in history) == ["credit", "debit"]  # each change sent once


def test_a_refused_change_raises_the_systems_reason_and_changes_nothing(admin: PolicyAdmin) -> None:
    number = "KV-4712-0010"  # K100012's second policy
    before = admin.policy(number)
    assert before is not None
    with pytest.raises(ValueError, match="Die Prüfziffer der IBAN ist falsch"):
        admin.change_account(number, "debit", "DE89370400440532013001", "bot")
    with pytest.raises(ValueError, match="außerhalb des SEPA-Raums"):
        admin.change_account(number, "credit", "BR1500000000000010932840814P2", "bot")
    with pytest.raises(ValueError, match="Bankleitzahl 12345678 in der IBAN ist unbekannt"):
        admin.change_account(number, "credit", "DE87123456781234567890", "bot")
    with pytest.raises(ValueError, match="wer die Änderung veranlasst hat"):
        admin.change_account(number, "debit", "DE89370400440532013000", "")
    after = admin.policy(number)
    assert after is not None and after.accounts == before.accounts and after.account_history == ()

    with pytest.raises(ValueError, match="no credit account"):
        admin.change_account(
            "KO-4714-0001", "credit", "DE89370400440532013000", "bot"
        )  # Komposit: debit only
    with pytest.raises(ValueError, match="debit or credit"):
        admin.change_account(number, "savings", "DE89370400440532013000", "bot")
    with pytest.raises(LookupError):
        admin.change_account("KV-0000-0000", "debit", "DE89370400440532013000", "bot")


def test_change_account_on_a_closed_or_changed_system(admin: PolicyAdmin, sandbox: Sandbox) -> None:
    from bots.insurer.pages import LayoutChanged
    from bots.runtime.errors import SystemUnavailable
    from tests.conftest import MONDAY_07, SATURDAY_23

    number = "KO-4714-0005"  # K100011: one clean Komposit policy with a credit account
    sandbox.clock.set(SATURDAY_23)
    with pytest.raises(SystemUnavailable) as info:
        admin.change_account(number, "credit", "DE89370400440532013000", "bot")
    assert info.value.until == MONDAY_07
    sandbox.clock.set(TUESDAY_10)
    admin.policy("KO-4714-0001")  # logged in, on another policy's screen: the change loads its own
    sandbox.set_faults(alt_layout=True)
    with pytest.raises(LayoutChanged, match="#account-credit"):
        admin.change_account(number, "credit", "DE89370400440532013000", "bot")
    assert sandbox.db.account_changes(number) == []


def test_change_account_logs_in_again_when_the_session_ends_before_the_form_arrives(
    admin: PolicyAdmin, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bots.insurer.pages.policy import PolicyPage

    submit = PolicyPage.submit_account
    ended: list[bool] = []

    def session_ends_first(self: PolicyPage, role: str, iban: str, authority: str) -> Any:
        if not ended:
            ended.append(True)
            sandbox.admin.post("/admin/sessions/expire").raise_for_status()
        return submit(self, role, iban, authority)

    monkeypatch.setattr(PolicyPage, "submit_account", session_ends_first)
    number = "KO-4714-0006"  # K100013's clean Komposit policy
    account = admin.change_account(number, "debit", "DE02120300000000202051", "bot")
    assert account.iban == "DE02120300000000202051" and ended == [True]
    assert [c.new_iban for c in sandbox.db.account_changes(number)] == ["DE02120300000000202051"]


def test_the_policy_says_whether_its_holder_is_its_intermediary(admin: PolicyAdmin) -> None:
    own = admin.policy("LV-4713-0006")  # K100013 looks after her own pension policy
    assert own is not None and own.intermediary_customer_id == own.holder_customer_id == "K100013"
    assert own.holder_is_intermediary and own.critical.running == ()
    komposit = admin.policy("KO-4714-0001")  # K100002's own liability policy
    assert komposit is not None and komposit.holder_is_intermediary
    other = admin.policy("KO-4714-0006")  # K100013's, looked after by K100005
    assert (
        other is not None and other.intermediary_customer_id == "K100005" and not other.holder_is_intermediary
    )
    direct = admin.policy("ARK-4711-0002")  # K100002 is an intermediary, but not of this policy
    assert direct is not None and direct.intermediary_customer_id == "" and not direct.holder_is_intermediary
    cancelled = admin.policy("LV-4713-0007")
    assert cancelled is not None and cancelled.critical.running == ("cancellation_pending",)
    assert not cancelled.holder_is_intermediary
