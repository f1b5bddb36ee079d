"""Every way an ARK request can be refused, or handed to a clerk, leaves the customer one German message for
their Postfach that says what was asked, why not, and what they can do (sent through the outbox)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bots.ark_certificate import rules
from bots.ark_certificate.bot import ArkCertificateBot
from bots.ark_certificate.settings import ArkSettings
from bots.insurer.facts import InsuredPerson
from bots.runtime.errors import HandOff, Reject
from bots.runtime.models import WorkItem
from bots.runtime.states import Status
from tests.conftest import ark_payload, make_ark_request, make_policy, make_tariff

TODAY = date(2027, 2, 20)
CHILD_LATER = InsuredPerson("Mia", "Weiß", date(2026, 12, 1), "Kind", covered_from=date(2027, 6, 1))


def outcome_of(check: Callable[[], Any]) -> Reject | HandOff:
    with pytest.raises((Reject, HandOff)) as info:
        check()
    assert isinstance(info.value, Reject | HandOff)
    return info.value


CASES: dict[str, Callable[[], Any]] = {
    "home_country": lambda: rules.check_request(make_ark_request(country="DE"), TODAY),
    "start_in_past": lambda: rules.check_request(make_ark_request(travel_start="2026-12-01"), TODAY),
    "not_customers_policy": lambda: rules.check_policy(make_ark_request(), None),
    "not_ark": lambda: rules.check_policy(make_ark_request(), make_policy(line="KV")),
    "trip_too_long": lambda: rules.check_policy(
        make_ark_request(travel_end="2027-06-30"), make_policy(tariff=make_tariff(max_trip_days=42))
    ),
    "not_in_force": lambda: rules.check_policy(make_ark_request(), make_policy(status="storniert")),
    "outside_area_of_cover": lambda: rules.check_policy(
        make_ark_request(country="US"), make_policy(tariff=make_tariff(area="EUROPE"))
    ),
    "country_of_residence": lambda: rules.check_residence(make_ark_request(country="AT"), "AT"),
    "persons_not_yet_covered": lambda: rules.certified_persons(
        make_ark_request(), make_policy(insured_persons=(CHILD_LATER,))
    ),
    "unknown_area_of_cover": lambda: rules.check_policy(
        make_ark_request(), make_policy(tariff=make_tariff(area="MARS"))
    ),
    "no_insured_persons": lambda: rules.certified_persons(
        make_ark_request(), make_policy(insured_persons=())
    ),
}


def item_of(payload: dict[str, Any]) -> WorkItem:
    at = datetime(2027, 2, 20, 9, 30, tzinfo=UTC)
    return WorkItem(
        1, "ark_certificate", "ref-1", payload["customer_id"], 0, Status.RUNNING, None, None, None, 1, 5,
        "worker", None, payload, None, None, {}, 2, at, at,
    )  # fmt: skip


@pytest.mark.parametrize("code", sorted(CASES))
def test_every_refusal_and_hand_off_tells_the_customer(code: str) -> None:
    outcome = outcome_of(CASES[code])
    assert (outcome.code if isinstance(outcome, Reject) else outcome.reason_code) == code
    bot = ArkCertificateBot(ArkSettings(_env_file=None))  # type: ignore[call-arg]
    mail = bot.notice(item_of(ark_payload(customer_id="K-100")), outcome)
    assert mail.to == "K-100@postfach.portalbots.test"
    assert ("ARK-4711-0815" in mail.subject and "Thailand" in mail.subject) or "Reiseziel" in mail.subject
    assert mail.body.startswith("Guten Tag,") and "20. Februar 2027 um 10:30 Uhr" in mail.body
    assert "Kontaktformular" in mail.body and "Freundliche Grüße" in mail.body
    if isinstance(outcome, Reject):  # why, in the words the portal shows too
        assert outcome.customer_message in mail.body
    else:  # a clerk takes over: no internal note reaches the customer
        assert "Fachbereichs Krankenversicherung" in mail.body and outcome.note not in mail.body


def test_a_stored_request_the_model_no_longer_accepts_is_still_named() -> None:
    bot = ArkCertificateBot(ArkSettings(_env_file=None))  # type: ignore[call-arg]
    broken = {"customer_id": "K-7", "policy_number": "ARK-1", "travel_start": 0, "country": "XX"}
    mail = bot.notice(item_of(broken), Reject("invalid_request", "Ihre Anfrage enthält Angaben, die …"))
    assert mail.to == "K-7@postfach.portalbots.test" and "ARK-1" in mail.subject


def test_the_cases_cover_every_reason_the_rules_know() -> None:
    source = Path(rules.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'(?:Reject|HandOff)\(\s*(?:BusinessUnit\.\w+,\s*)?"([a-z_]+)"', source))
    assert codes == set(CASES), codes ^ set(CASES)
