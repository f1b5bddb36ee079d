"""The sandbox web app over real HTTP: login, search, policy page, account and flag forms, hours, faults, admin API."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bots.runtime.clock import FixedClock
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from tests.conftest import MONDAY_07, SANDBOX_ADMIN, SATURDAY_23, TUESDAY_10, Sandbox

VALID_IBAN = "DE89370400440532013000"  # the well-known Commerzbank example IBAN


def values(html: str, field: str) -> list[str]:
    """data-value of every element with data-field=`field` (the sandbox renders data-field first)."""
    return re.findall(rf'data-field="{re.escape(field)}" data-value="([^"]*)"', html)


def rows(html: str, field: str) -> int:
    """How many rows (or other elements without a value) carry data-field=`field`."""
    return len(re.findall(rf'data-field="{re.escape(field)}"[ >]', html))


@pytest.fixture
def clock(sandbox: Sandbox) -> FixedClock:
    """The sandbox's clock (this module moves it to stand outside service hours)."""
    return sandbox.clock


@pytest.fixture
def server(sandbox: Sandbox) -> SandboxServer:
    return sandbox.server


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=SANDBOX_ADMIN, timeout=10) as client:
        yield client


@pytest.fixture
def anon(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def web(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post("/login", data={"username": "robot", "password": "robot-pw"})
        assert response.status_code == 303
        yield client


def test_pages_require_login_and_login_returns_to_the_page(anon: httpx.Client) -> None:
    response = anon.get("/kunden/K100001")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/kunden/K100001"

    wrong = anon.post("/login", data={"username": "robot", "password": "falsch", "next": "/kunden/K100001"})
    assert wrong.status_code == 401
    assert 'id="login-error"' in wrong.text
    assert "bestand_session" not in anon.cookies

    ok = anon.post("/login", data={"username": "robot", "password": "robot-pw", "next": "/kunden/K100001"})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/kunden/K100001"
    page = anon.get("/kunden/K100001")
    assert page.status_code == 200
    assert values(page.text, "customer-id")[0] == "K100001"

    anon.post("/logout")
    assert anon.get("/kunden/K100001").status_code == 303


def test_login_does_not_redirect_to_another_host(anon: httpx.Client) -> None:
    response = anon.post(
        "/login", data={"username": "robot", "password": "robot-pw", "next": "//evil.example/"}
    )
    assert response.headers["location"] == "/suche"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Inès weiss", ["K100009"]),  # Weiß, case and ß folded
        ("łucja öztürk", ["K100001"]),
        ("LUCJA", ["K100001"]),
        ("cagla yildiz", ["K100003"]),
        ("k100002", ["K100002"]),
        ("ARK-4711-0001", ["K100001"]),
        ("kv-4712-0002", ["K100003"]),
    ],
)
def test_search_finds_customers_by_name_id_and_policy(
    web: httpx.Client, query: str, expected: list[str]
) -> None:
    page = web.get("/suche", params={"q": query})
    assert page.status_code == 200
    assert values(page.text, "customer-id") == expected
    assert rows(page.text, "search-result") == len(expected)
    assert f'id="search-count" data-value="{len(expected)}"' in page.text


def test_search_by_surname_lists_everybody_of_that_name(web: httpx.Client, server: SandboxServer) -> None:
    page = web.get("/suche", params={"q": "öztürk"}).text
    expected = [c.customer_id for c in server.db.all_customers() if "Öztürk" in c.last_name]
    assert expected and values(page, "customer-id") == expected


def test_search_without_hits_says_so(web: httpx.Client) -> None:
    page = web.get("/suche", params={"q": "Niemandnirgends"})
    assert 'id="search-empty"' in page.text
    assert values(page.text, "customer-id") == []


def test_customer_page_shows_person_address_intermediary_and_policies(
    web: httpx.Client, server: SandboxServer
) -> None:
    page = web.get("/kunden/K100002").text
    customer = server.db.customer("K100002")
    assert customer is not None
    assert values(page, "first-name") == [customer.first_name]
    assert values(page, "last-name") == [customer.last_name]
    assert values(page, "birth-date") == [customer.birth_date.isoformat()]
    assert values(page, "street") == [customer.street]
    assert values(page, "intermediary") == ["true"]
    assert values(page, "policy-number") == [p.policy_number for p in server.db.policies_of("K100002")]
    assert values(web.get("/kunden/K100001").text, "intermediary") == ["false"]
    assert web.get("/kunden/K999999").status_code == 404


def test_policy_page_shows_contract_data_and_every_insured_person(
    web: httpx.Client, server: SandboxServer
) -> None:
    page = web.get("/vertraege/ARK-4711-0001").text
    assert values(page, "policy-number") == ["ARK-4711-0001"]
    assert values(page, "line") == ["ARK"]
    assert values(page, "business-unit") == ["Kranken"]
    assert values(page, "start") == ["2019-01-01"]
    assert values(page, "end") == [""]
    assert values(page, "max-trip-days") == ["42"]
    assert values(page, "status") == ["aktiv"]
    assert values(page, "holder-customer-id") == ["K100001"]
    insured = server.db.insured_persons("ARK-4711-0001")
    assert len(insured) == 4
    assert rows(page, "insured-person") == 4
    assert values(page, "first-name") == [p.first_name for p in insured]
    assert values(page, "birth-date") == [p.birth_date.isoformat() for p in insured]
    assert values(page, "covered-from") == ["2019-01-01"] * 4
    assert values(page, "dunning-active") == ["false"]
    # the travel tariff's cover, machine values in data-value
    assert values(page, "area") == ["WORLD_EXCEPT_DE"] and "weltweit außer Deutschland" in page
    assert values(page, "sum-insured") == ["unlimited"] and values(page, "deductible") == ["0.00"]
    for flag in ("urgent-treatment", "hospital", "repatriation", "repatriation-of-remains"):
        assert values(page, f"cover-{flag}") == ["true"]
    assert values(page, "direct-settlement") == ["true"]

    europe = web.get("/vertraege/ARK-4711-0005").text  # K100007
    assert values(europe, "area") == ["EUROPE"] and "Europa außer Deutschland" in europe
    assert values(europe, "sum-insured") == ["250000.00"] and "250.000,00 EUR" in europe
    basic = web.get("/vertraege/ARK-4711-0003").text  # K100003
    assert values(basic, "deductible") == ["150.00"] and values(basic, "direct-settlement") == ["false"]
    assert values(basic, "cover-repatriation-of-remains") == ["false"]
    later = web.get("/vertraege/ARK-4711-0007").text  # K100009: a child joins later
    assert values(later, "covered-from") == ["2022-04-01"] * 3 + ["2027-01-01"]

    kv = web.get("/vertraege/KV-4712-0002").text
    assert values(kv, "line") == ["KV"]
    assert values(kv, "health-department") == ["Zusatz"]
    assert values(kv, "dunning-active") == ["true"]
    assert 'id="critical-process"' in kv
    assert values(kv, "area") == []  # no travel tariff, no travel cover


def test_account_change_is_validated_and_stored(
    web: httpx.Client, server: SandboxServer, admin: httpx.Client
) -> None:
    number = "KV-4712-0001"  # K100001's
    before = server.db.account(number, "debit")
    assert before is not None
    untouched = web.get(f"/vertraege/{number}").text
    assert 'id="account-history-empty"' in untouched and rows(untouched, "account-change") == 0

    bad = web.post(
        f"/vertraege/{number}/konten/debit", data={"iban": "DE89370400440532013001", "authority": "bot"}
    )
    assert bad.status_code == 422
    assert 'id="account-debit-error"' in bad.text
    assert "Prüfziffer" in bad.text
    assert 'value="DE89370400440532013001"' in bad.text and 'value="bot"' in bad.text  # kept for a retry
    assert server.db.account(number, "debit") == before
    assert server.db.account_changes(number) == []
    assert rows(bad.text, "account-change") == 0

    # a holder sent along is ignored: the holder is always the policy holder as the system knows them
    ok = web.post(
        f"/vertraege/{number}/konten/debit",
        data={"iban": "de89 3704 0044 0532 0130 00", "authority": "bot", "holder": "Jemand Anderes"},
    )
    assert ok.status_code == 303
    page = web.get(ok.headers["location"]).text
    assert 'id="account-debit-saved"' in page
    assert VALID_IBAN in values(page, "iban")
    stored = server.db.account(number, "debit")
    assert stored is not None
    assert (stored.iban, stored.bic, stored.bank_name) == (VALID_IBAN, "COBADEFFXXX", "Commerzbank")
    assert stored.holder == "Łucja Öztürk-Şahin"
    assert server.db.account(number, "credit") != stored  # only the debit account changed

    # the history on the page: full IBANs (the insurer's own system), the system's clock, the authority
    assert rows(page, "account-change") == 1 and 'id="account-history-empty"' not in page
    assert values(page, "account-role") == ["debit"]
    assert values(page, "old-iban") == [before.iban] and values(page, "new-iban") == [VALID_IBAN]
    assert values(page, "new-bic") == ["COBADEFFXXX"] and values(page, "new-bank-name") == ["Commerzbank"]
    assert values(page, "changed-at") == [TUESDAY_10.astimezone(UTC).isoformat()]
    assert values(page, "authority") == ["bot"] and "Robot (Dunkelverarbeitung)" in page
    assert values(page, "changed-by") == ["robot"]
    assert "DE89 3704 0044 0532 0130 00" in page  # shown grouped in fours

    changes = admin.get("/admin/account-changes", params={"policy_number": number}).json()
    assert len(changes) == 1
    assert changes[0]["old_iban"] == before.iban
    assert changes[0]["new_iban"] == VALID_IBAN
    assert changes[0]["changed_by"] == "robot" and changes[0]["authority"] == "bot"
    assert changes[0]["changed_at"] == TUESDAY_10.astimezone(UTC).isoformat()


def test_the_account_form_has_no_holder_field_and_asks_who_ordered_the_change(web: httpx.Client) -> None:
    page = web.get("/vertraege/LV-4713-0001").text
    for role in ("debit", "credit"):
        assert f'id="account-{role}-holder"' not in page
        assert f'id="account-{role}-iban"' in page and f'id="account-{role}-authority"' in page
    assert 'name="holder"' not in page and page.count('name="authority"') == 2


@pytest.mark.parametrize(
    ("iban", "authority", "reason"),
    [
        ("DE8937040044053201300", "bot", "Die IBAN hat 21 Stellen; eine IBAN aus DE hat 22."),
        ("DE89370400440532013001", "bot", "Die Prüfziffer der IBAN ist falsch."),
        ("DE89 3704 0044 0532 0130 0A", "bot", "Die IBAN entspricht nicht dem Aufbau einer IBAN aus DE."),
        ("DE87123456781234567890", "bot", "Die Bankleitzahl 12345678 in der IBAN ist unbekannt."),
        (
            "BR1500000000000010932840814P2",
            "bot",
            "Die IBAN stammt aus BR, einem Land außerhalb des SEPA-Raums.",
        ),
        ("XX89370400440532013000", "bot", "Unbekanntes Länderkennzeichen „XX“ in der IBAN."),
        ("DE89-3704-0044-0532-0130-00", "bot", "Die IBAN enthält unzulässige Zeichen."),
        ("", "bot", "Bitte eine IBAN angeben."),
        (VALID_IBAN, " ", "Bitte angeben, wer die Änderung veranlasst hat (bot oder clerk:Name)."),
        (VALID_IBAN, "clerk: ", "Bitte den Namen der Sachbearbeiterin oder des Sachbearbeiters angeben"),
        (VALID_IBAN, "x" * 101, "länger als 100 Zeichen"),
    ],
)
def test_a_refused_change_names_its_reason_and_changes_nothing(
    web: httpx.Client, server: SandboxServer, iban: str, authority: str, reason: str
) -> None:
    number = "LV-4713-0003"  # K100008's
    before = server.db.accounts(number)
    response = web.post(f"/vertraege/{number}/konten/credit", data={"iban": iban, "authority": authority})
    assert response.status_code == 422
    error = re.search(r'id="account-credit-error"[^>]*>([^<]*)<', response.text)
    assert error is not None and reason in error.group(1)
    assert 'id="account-debit-error"' not in response.text
    assert server.db.accounts(number) == before and server.db.account_changes(number) == []


def test_the_history_shows_every_change_newest_first_with_its_authority(
    web: httpx.Client, server: SandboxServer, clock: FixedClock, admin: httpx.Client
) -> None:
    number = "KV-4712-0011"  # K100014's clean care policy
    first, second = "DE02120300000000202051", "NL91ABNA0417164300"
    debit_before = server.db.account(number, "debit")
    assert debit_before is not None

    def post(role: str, iban: str, who: str) -> httpx.Response:
        return web.post(f"/vertraege/{number}/konten/{role}", data={"iban": iban, "authority": who})

    assert post("debit", first, "bot").status_code == 303
    clock.advance(timedelta(minutes=5))
    assert post("credit", first, "clerk:Erika Mustermann").status_code == 303
    clock.advance(timedelta(minutes=5))
    assert post("debit", second, "clerk:Erika Mustermann").status_code == 303
    again = post("debit", "nl91 abna 0417 1643 00", "bot")  # the IBAN it already has
    assert again.status_code == 422 and "bereits hinterlegt" in again.text

    page = web.get(f"/vertraege/{number}").text
    assert rows(page, "account-change") == 3
    assert values(page, "account-role") == ["debit", "credit", "debit"]
    assert values(page, "new-iban") == [second, first, first]
    assert values(page, "old-iban")[0] == first and values(page, "old-iban")[2] == debit_before.iban
    assert values(page, "new-bic") == ["ABNANL2A", "BYLADEM1001", "BYLADEM1001"]
    assert values(page, "authority") == ["clerk:Erika Mustermann", "clerk:Erika Mustermann", "bot"]
    assert "Sachbearbeitung: Erika Mustermann" in page
    assert values(page, "changed-at") == [
        (TUESDAY_10 + timedelta(minutes=m)).astimezone(UTC).isoformat() for m in (10, 5, 0)
    ]

    body = admin.get(f"/admin/policies/{number}/accounts").json()
    assert body["policy_number"] == number
    assert {a["role"]: a["iban"] for a in body["accounts"]} == {"debit": second, "credit": first}
    assert {a["holder"] for a in body["accounts"]} == {"Oğuz Kılıç"}
    assert [h["new_iban"] for h in body["history"]] == [second, first, first]
    assert [h["authority"] for h in body["history"]] == ["clerk:Erika Mustermann"] * 2 + ["bot"]
    assert admin.get("/admin/policies/NOPE-1/accounts").status_code == 404


def test_a_foreign_sepa_iban_without_a_known_bank_is_stored_without_bic(
    web: httpx.Client, server: SandboxServer
) -> None:
    number = "ARK-4711-0006"  # K100008 lives in Vienna
    response = web.post(
        f"/vertraege/{number}/konten/credit", data={"iban": "AT61 1904 3002 3457 3201", "authority": "bot"}
    )
    assert response.status_code == 303
    stored = server.db.account(number, "credit")
    assert stored is not None and (stored.iban, stored.bic, stored.bank_name) == (
        "AT611904300234573201",
        "",
        "",
    )


def test_the_policy_page_shows_its_intermediary(web: httpx.Client, admin: httpx.Client) -> None:
    own = web.get("/vertraege/KO-4714-0001").text  # K100002 is the intermediary of his own policy
    assert values(own, "holder-customer-id") == values(own, "intermediary-customer-id") == ["K100002"]
    assert values(own, "intermediary-name") == ["Zoltán Kovács-Nagyő"]
    assert 'id="critical-process"' in own and "Versicherungsnehmer ist Vermittler" in own
    other = web.get("/vertraege/LV-4713-0002").text  # K100005's, looked after by K100002
    assert values(other, "intermediary-customer-id") == ["K100002"] and 'id="critical-process"' not in other
    direct = web.get("/vertraege/ARK-4711-0002").text
    assert values(direct, "intermediary-customer-id") == [""] and values(direct, "intermediary-name") == [""]
    assert admin.get("/admin/policies/KO-4714-0001").json()["policy"]["intermediary_id"] == "K100002"

    number = "KV-4712-0004"  # K100006's, looked after by K100005

    def put(policy: str, intermediary: str | None) -> httpx.Response:
        return admin.put(f"/admin/policies/{policy}/intermediary", json={"intermediary_id": intermediary})

    assert put(number, "K100001").status_code == 422  # K100001 is no intermediary
    assert put(number, "K100002").json() == {"intermediary_id": "K100002", "holder_is_intermediary": False}
    assert values(web.get(f"/vertraege/{number}").text, "intermediary-customer-id") == ["K100002"]
    assert put(number, None).json() == {"intermediary_id": None, "holder_is_intermediary": False}
    assert put("NOPE-1", None).status_code == 404
    put(number, "K100005").raise_for_status()  # as seeded, for the tests after this one


def test_the_seed_has_every_case_the_bank_change_bot_needs(server: SandboxServer) -> None:
    """The cases sandbox.seed documents, as the bank change bot and its tests rely on them."""
    db = server.db

    def case(number: str) -> tuple[str, str, tuple[str, ...], bool, bool, bool]:
        policy = db.policy(number)
        assert policy is not None, number
        roles = tuple(a.role for a in db.accounts(number))
        return (policy.customer_id, policy.business_unit, roles, policy.dunning_active,
                policy.cancellation_pending, policy.holder_is_intermediary)  # fmt: skip

    both = ("debit", "credit")
    clean = {
        "KO-4714-0005": ("K100011", "Komposit", both, False, False, False),
        "LV-4713-0005": ("K100012", "Leben", both, False, False, False),
        "KV-4712-0010": ("K100012", "Kranken", both, False, False, False),
        "KO-4714-0006": ("K100013", "Komposit", both, False, False, False),
        "KV-4712-0011": ("K100014", "Kranken", both, False, False, False),
    }
    critical = {
        "KV-4712-0002": ("K100003", "Kranken", both, True, False, False),
        "LV-4713-0004": ("K100010", "Leben", both, True, False, False),
        "KO-4714-0003": ("K100005", "Komposit", ("debit",), False, True, False),
        "LV-4713-0007": ("K100014", "Leben", both, False, True, False),
        "KO-4714-0001": ("K100002", "Komposit", ("debit",), False, False, True),
        "LV-4713-0006": ("K100013", "Leben", both, False, False, True),
    }
    for number, expected in {**clean, **critical}.items():
        assert case(number) == expected, number
    assert [p.policy_number for p in db.policies_of("K100011")] == ["KO-4714-0005"]
    assert [p.policy_number for p in db.policies_of("K100012")] == ["KV-4712-0010", "LV-4713-0005"]
    for customer in ("K100011", "K100012", "K100014"):
        holder = db.customer(customer)
        assert holder is not None and not holder.is_intermediary
        assert {a.holder for p in db.policies_of(customer) for a in db.accounts(p.policy_number)} == {
            holder.name
        }
    assert db.customer("K100013").is_intermediary  # type: ignore[union-attr]


def test_komposit_policy_has_no_credit_account_to_change(web: httpx.Client) -> None:
    page = web.get("/vertraege/KO-4714-0001").text
    assert values(page, "account-missing") == ["credit"]
    response = web.post(
        "/vertraege/KO-4714-0001/konten/credit", data={"iban": VALID_IBAN, "authority": "bot"}
    )
    assert response.status_code == 422
    assert "kein Leistungskonto (Gutschrift) vorgesehen" in response.text
    assert values(web.get("/vertraege/KO-4714-0005").text, "account-missing") == []  # K100011's has one


def test_operator_sets_and_clears_flags(
    web: httpx.Client, server: SandboxServer, admin: httpx.Client
) -> None:
    number = "ARK-4711-0002"
    response = web.post(f"/vertraege/{number}/kennzeichen", data={"dunning_active": "1"})
    assert response.status_code == 303
    page = web.get(response.headers["location"]).text
    assert values(page, "dunning-active") == ["true"]
    assert values(page, "cancellation-pending") == ["false"]
    assert 'id="flags-saved"' in page
    assert admin.get(f"/admin/policies/{number}").json()["flags"] == {
        "dunning_active": True,
        "cancellation_pending": False,
    }

    cleared = admin.put(f"/admin/policies/{number}/flags", json={"dunning_active": False})
    assert cleared.json() == {"dunning_active": False, "cancellation_pending": False}
    policy = server.db.policy(number)
    assert policy is not None and not policy.dunning_active


def test_closed_outside_service_hours_and_open_again_monday(
    web: httpx.Client, anon: httpx.Client, clock: FixedClock, admin: httpx.Client
) -> None:
    clock.set(SATURDAY_23)
    for client, path in ((web, "/vertraege/ARK-4711-0001"), (anon, "/login"), (anon, "/suche")):
        response = client.get(path)
        assert response.status_code == 503
        assert '<body id="system-unavailable">' in response.text
        assert "nicht verfügbar" in response.text
        assert values(response.text, "next-opening") == [MONDAY_07.astimezone(UTC).isoformat()]
        assert "Montag, 30.11.2026, 07:00 Uhr" in response.text
        assert int(response.headers["Retry-After"]) == 32 * 3600  # Saturday 23:00 to Monday 07:00
    assert anon.get("/healthz").json()["service_open"] is False
    assert admin.get("/admin/faults").status_code == 200
    assert anon.get("/static/sandbox.css").status_code == 200

    clock.set(MONDAY_07)
    assert web.get("/vertraege/ARK-4711-0001").status_code == 200


def test_force_open_and_force_closed(web: httpx.Client, clock: FixedClock, admin: httpx.Client) -> None:
    admin.put("/admin/faults", json={"force_closed": True})
    closed = web.get("/suche")
    assert closed.status_code == 503
    assert values(closed.text, "next-opening") == [""]

    clock.set(SATURDAY_23)
    admin.put("/admin/faults", json={"force_closed": False, "force_open": True})
    assert web.get("/suche").status_code == 200


def test_error_rate_one_answers_500_everywhere_but_admin(web: httpx.Client, admin: httpx.Client) -> None:
    assert admin.put("/admin/faults", json={"error_rate": 1.0}).json()["error_rate"] == 1.0
    for path in ("/suche", "/kunden/K100001", "/vertraege/ARK-4711-0001"):
        response = web.get(path)
        assert response.status_code == 500
        assert '<body id="system-error">' in response.text
    assert admin.get("/admin/faults").status_code == 200
    assert web.get("/healthz").status_code == 200

    admin.put("/admin/faults", json={"error_rate": 0.5, "error_seed": 3})
    statuses = [web.get("/suche").status_code for _ in range(40)]
    assert set(statuses) == {200, 500}


def test_latency_delays_pages(web: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/admin/faults", json={"latency_ms": 400})
    started = time.monotonic()
    assert web.get("/suche").status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    admin.get("/admin/faults")
    assert time.monotonic() - started < 0.4


def test_hanging_path_never_answers_until_released(
    web: httpx.Client, server: SandboxServer, admin: httpx.Client
) -> None:
    admin.put("/admin/faults", json={"hang_paths": ["/vertraege/"]})
    with pytest.raises(httpx.ReadTimeout):
        web.get("/vertraege/ARK-4711-0001", timeout=0.5)
    assert web.get("/suche").status_code == 200
    admin.post("/admin/faults/reset")
    assert web.get("/vertraege/ARK-4711-0001").status_code == 200


def test_alt_layout_changes_ids_and_data_fields(
    web: httpx.Client, anon: httpx.Client, admin: httpx.Client
) -> None:
    normal = anon.get("/login").text
    assert 'id="username"' in normal and 'id="login-submit"' in normal

    admin.put("/admin/faults", json={"alt_layout": True})
    alt = anon.get("/login").text
    assert 'id="username"' not in alt
    assert 'id="v2-username"' in alt and 'id="v2-login-submit"' in alt
    policy = web.get("/vertraege/ARK-4711-0001").text
    assert values(policy, "policy-number") == []
    assert values(policy, "v2-policy-number") == ["ARK-4711-0001"]
    assert rows(policy, "v2-insured-person") == 4
    assert 'id="v2-account-debit-iban"' in policy


def test_admin_faults_api_validates_knobs(anon: httpx.Client, admin: httpx.Client) -> None:
    assert admin.get("/admin/faults").json()["error_rate"] == 0.0
    assert admin.put("/admin/faults", json={"nonsense": 1}).status_code == 422
    assert admin.put("/admin/faults", json={"error_rate": 2}).status_code == 422
    assert admin.put("/admin/faults", json=[1]).status_code == 422
    assert admin.put("/admin/faults", json={"latency_ms": 5}).json()["latency_ms"] == 5
    assert admin.put("/admin/faults", json={"alt_layout": True}).json()["latency_ms"] == 5  # kept
    assert admin.post("/admin/faults/reset").json()["latency_ms"] == 0


def test_admin_policy_json_matches_the_database(
    anon: httpx.Client, server: SandboxServer, admin: httpx.Client
) -> None:
    body = admin.get("/admin/policies/ARK-4711-0001").json()
    assert body["policy"]["policy_number"] == "ARK-4711-0001"
    assert body["policy"]["customer_id"] == "K100001"
    assert body["policy"]["max_trip_days"] == 42
    assert body["policy"]["travel_cover"] == {
        "area": "WORLD_EXCEPT_DE",
        "sum_insured": None,
        "deductible": "0.00",
        "urgent_treatment": True,
        "hospital": True,
        "repatriation": True,
        "repatriation_of_remains": True,
        "direct_settlement": True,
    }
    assert {p["covered_from"] for p in body["insured_persons"]} == {"2019-01-01"}
    assert admin.get("/admin/policies/KV-4712-0001").json()["policy"]["travel_cover"] is None
    assert [p["first_name"] for p in body["insured_persons"]] == [
        p.first_name for p in server.db.insured_persons("ARK-4711-0001")
    ]
    assert {a["role"] for a in body["accounts"]} == {"debit", "credit"}
    assert body["flags"] == {"dunning_active": False, "cancellation_pending": False}
    assert admin.get("/admin/policies/NOPE-1").status_code == 404
    assert admin.get("/admin/postfach/K999999").status_code == 404
    assert admin.get("/admin/mailboxes/zahn").status_code == 404
    assert admin.get("/admin/mailboxes/voll").json() == {"mailbox": "voll", "messages": []}


def test_admin_seed_replaces_the_data(tmp_path: Path) -> None:
    settings = SandboxSettings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    with SandboxServer(settings, FixedClock(TUESDAY_10), customers=2) as server:
        summary = httpx.post(f"{server.url}/admin/seed", json={"customers": 4}, headers=SANDBOX_ADMIN).json()
        assert summary["customer_count"] == 4
        assert server.db.customer_count() == 4
        refused = httpx.post(f"{server.url}/admin/seed", json={"customers": -1}, headers=SANDBOX_ADMIN)
        assert refused.status_code == 422


def test_the_admin_api_wants_its_token(anon: httpx.Client) -> None:
    for path in ("/admin/faults", "/admin/postfach/K100001", "/admin/policies/ARK-4711-0001"):
        refused = anon.get(path)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert "IBAN" not in refused.text and "iban" not in refused.text
    assert anon.put("/admin/faults", json={"force_closed": True}).status_code == 401
    assert (
        anon.get("/admin/faults", headers={"Authorization": "Bearer dev-sandbox-admin-tokeN"}).status_code
        == 401
    )


def test_wrong_logins_slow_down(tmp_path: Path) -> None:
    settings = SandboxSettings(data_dir=tmp_path, sandbox_login_delay=0.2, _env_file=None)  # type: ignore[call-arg]
    with (
        SandboxServer(settings, FixedClock(TUESDAY_10), customers=1) as server,
        httpx.Client(base_url=server.url) as c,
    ):
        waits = []
        for _ in range(5):
            started = time.monotonic()
            r = c.post("/login", data={"username": "robot", "password": "falsch"})
            assert r.status_code == 401
            waits.append(time.monotonic() - started)
        # three at once, then 0.2 s and 0.4 s (lower bounds only: a busy machine is slower, never faster)
        assert waits[3] >= 0.2 and waits[4] >= 0.4
        assert c.get("/admin/faults", headers={"Authorization": "Bearer nope"}).status_code == 401
        slowed = c.get("/admin/faults", headers={"Authorization": "Bearer nope"})
        assert int(slowed.headers["Retry-After"]) >= 1
        ok = c.post("/login", data={"username": "robot", "password": "robot-pw"}, follow_redirects=False)
        assert ok.status_code == 303


def test_the_admin_api_refuses_clients_beyond_loopback(tmp_path: Path) -> None:
    settings = SandboxSettings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]

    async def status_from(app: Any, host: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
            return (await c.get("/admin/faults", headers=SANDBOX_ADMIN)).status_code

    def status(app: Any, host: str) -> int:
        # a thread of its own: this thread may hold Playwright's event loop (the session's browser)
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, status_from(app, host)).result()

    with SandboxServer(settings, FixedClock(TUESDAY_10), customers=1) as server:
        assert status(server.app, "192.0.2.7") == 403
        assert status(server.app, "127.0.0.1") == 200
