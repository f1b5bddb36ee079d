"""ARK certificate rules: each accepts a good request and refuses with its own code and a German message."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.rules import (
    DEFAULT_MAX_PAST_DAYS,
    DEFAULT_MAX_TRIP_DAYS,
    certified_persons,
    check,
    check_policy,
    check_request,
    check_residence,
    max_trip_days,
)
from bots.insurer.areas import EUROPE, INSURER_HOME, Area, covers
from bots.insurer.facts import InsuredPerson, Policy
from bots.runtime.errors import HandOff, Reject
from bots.runtime.fields import COUNTRY_CODES
from tests.conftest import FAMILY, make_ark_request, make_policy, make_tariff

TODAY = date(2027, 2, 20)


def make_request(**changes: Any) -> ArkRequest:
    return make_ark_request(**{"languages": ["de", "en"], **changes})


def make_facts(**changes: Any) -> Policy:
    single = (InsuredPerson("Anna", "Schmidt", date(1980, 4, 1)),)
    return make_policy(**{"tariff": make_tariff("ARK-Jahr 42"), "insured_persons": single, **changes})


def reject_of(request: ArkRequest, facts: Policy | None, **kw: Any) -> Reject:
    with pytest.raises(Reject) as info:
        check(request, facts, TODAY, **kw)
    message = info.value.customer_message
    # German, a whole sentence, and nothing like an exception repr for the customer
    assert message.endswith(".")
    assert any(word in message for word in (" Sie ", " Ihr", " wir ", " Wir ")), message
    assert "Error" not in message and "None" not in message
    return info.value


def test_a_good_request_passes() -> None:
    check(make_request(), make_facts(), TODAY)


def test_the_tariffs_maximum_is_42_days_unless_stated() -> None:
    assert max_trip_days(make_facts()) == DEFAULT_MAX_TRIP_DAYS == 42


@pytest.mark.parametrize("facts", [None, make_facts(holder_customer_id="K-999")], ids=["missing", "foreign"])
def test_a_policy_that_is_not_the_customers_is_refused_alike(facts: Policy | None) -> None:
    reject = reject_of(make_request(), facts)
    assert reject.code == "not_customers_policy"
    assert "ARK-4711" in reject.customer_message
    # the same words whether it does not exist or belongs to someone else
    assert "K-999" not in reject.customer_message


def test_not_an_ark_policy() -> None:
    reject = reject_of(make_request(), make_facts(line="KV"))
    assert reject.code == "not_ark"
    assert "keine Auslandsreise-Krankenversicherung" in reject.customer_message


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"status": "storniert"}, "nicht aktiv"),
        ({"status": "ruhend"}, "nicht aktiv"),
        ({"start_date": date(2027, 3, 4)}, "04.03.2027"),
        ({"end_date": date(2027, 3, 23)}, "23.03.2027"),
    ],
    ids=["cancelled", "dormant", "starts-after-departure", "ends-before-return"],
)
def test_policy_not_in_force_for_the_whole_trip(changes: dict[str, Any], shown: str) -> None:
    reject = reject_of(make_request(), make_facts(**changes))
    assert reject.code == "not_in_force"
    assert shown in reject.customer_message


def test_policy_in_force_exactly_from_departure_to_return_passes() -> None:
    request = make_request()
    check(request, make_facts(start_date=request.travel_start, end_date=request.travel_end), TODAY)


def test_trip_longer_than_the_tariff_allows() -> None:
    start = date(2027, 3, 1)
    check(make_request(travel_start=start, travel_end=start + timedelta(days=41)), make_facts(), TODAY)
    reject = reject_of(make_request(travel_start=start, travel_end=start + timedelta(days=42)), make_facts())
    assert reject.code == "trip_too_long"
    assert "dauert 43 Tage;" in reject.customer_message
    assert "mit einer Dauer von bis zu 42 Tagen." in reject.customer_message
    assert "ARK-Jahr 42" in reject.customer_message


def test_the_trip_limit_is_the_tariffs() -> None:
    start = date(2027, 3, 1)
    long_trip = make_request(travel_start=start, travel_end=start + timedelta(days=55))
    check(long_trip, make_facts(tariff=make_tariff("ARK-Jahr Plus 56", 56)), TODAY)
    with pytest.raises(Reject, match="trip_too_long"):
        check(long_trip, make_facts(), TODAY)


def test_destination_germany_is_refused() -> None:
    reject = reject_of(make_request(country="de"), make_facts())
    assert reject.code == "home_country"
    assert "Reise nach Deutschland" in reject.customer_message


def test_an_end_before_the_start_is_refused_by_the_request_itself() -> None:
    with pytest.raises(ValidationError) as info:
        make_request(travel_start=date(2027, 3, 10), travel_end=date(2027, 3, 9))
    (error,) = info.value.errors()
    assert error["loc"] == ("travel_end",) and "2027-03-09" in error["msg"]


def test_a_one_day_trip_passes() -> None:
    check(make_request(travel_start=date(2027, 3, 10), travel_end=date(2027, 3, 10)), make_facts(), TODAY)


def test_start_too_far_in_the_past() -> None:
    limit = TODAY - timedelta(days=DEFAULT_MAX_PAST_DAYS)
    check(make_request(travel_start=limit, travel_end=limit + timedelta(days=20)), make_facts(), TODAY)
    request = make_request(travel_start=limit - timedelta(days=1), travel_end=limit + timedelta(days=20))
    reject = reject_of(request, make_facts())
    assert reject.code == "start_in_past"
    assert f"{DEFAULT_MAX_PAST_DAYS} Tage" in reject.customer_message


def test_the_past_span_is_configurable() -> None:
    request = make_request(travel_start=TODAY - timedelta(days=10), travel_end=TODAY + timedelta(days=5))
    check(request, make_facts(), TODAY, max_past_days=10)
    reject = reject_of(request, make_facts(), max_past_days=9)
    assert reject.code == "start_in_past"
    assert "9 Tage" in reject.customer_message


def test_one_day_is_singular() -> None:
    request = make_request(travel_start=TODAY - timedelta(days=2), travel_end=TODAY + timedelta(days=1))
    assert "mehr als 1 Tag zurück" in reject_of(request, make_facts(), max_past_days=1).customer_message
    short = make_facts(tariff=make_tariff("ARK-Tag 1", 1))
    reject = reject_of(make_request(travel_start=date(2027, 3, 1), travel_end=date(2027, 3, 2)), short)
    assert "dauert 2 Tage;" in reject.customer_message and "bis zu 1 Tag." in reject.customer_message


# ---------------------------------------------------------------- area of cover


def test_europe_is_a_set_of_iso_codes_without_the_usa() -> None:
    assert EUROPE <= COUNTRY_CODES
    assert {"AT", "FR", "ES", "CH", "GB", "NO", "TR"} <= EUROPE
    assert not {"US", "TH", "RU", "EG", "MA"} & EUROPE
    assert not covers(Area.EUROPE, INSURER_HOME) and not covers(Area.WORLD_EXCEPT_DE, INSURER_HOME)
    assert covers(Area.WORLD_EXCEPT_DE, "US") and not covers(Area.EUROPE, "US")


def test_a_europe_only_tariff_is_refused_for_the_usa() -> None:
    europe = make_facts(tariff=make_tariff("ARK-Europa 42", 42, area="EUROPE"))
    check(make_request(country="FR"), europe, TODAY)
    check(make_request(country="TR"), europe, TODAY)
    reject = reject_of(make_request(country="US"), europe)
    assert reject.code == "outside_area_of_cover"
    assert "ARK-Europa 42" in reject.customer_message
    assert "„Europa außer Deutschland“" in reject.customer_message
    assert "(Vereinigte Staaten)" in reject.customer_message
    check(make_request(country="US"), make_facts(), TODAY)  # a worldwide tariff covers it


def test_an_area_the_bot_does_not_know_goes_to_a_clerk() -> None:
    with pytest.raises(HandOff) as info:
        check(make_request(), make_facts(tariff=make_tariff(area="WORLD")), TODAY)
    assert info.value.unit == "Kranken" and info.value.reason_code == "unknown_area_of_cover"
    assert "WORLD" in info.value.note and "ARK-4711-0815" in info.value.note
    with pytest.raises(HandOff, match="unknown_area_of_cover"):
        check(make_request(), make_facts(tariff=dataclasses.replace(make_tariff(), travel=None)), TODAY)


# ---------------------------------------------------------------- residence


def test_the_country_of_residence_is_no_trip_abroad() -> None:
    check_residence(make_request(country="IT"), "AT")
    check_residence(make_request(country="AT"), "DE")
    with pytest.raises(Reject) as info:
        check_residence(make_request(country="AT"), "AT")
    assert info.value.code == "country_of_residence"
    assert "(Österreich)" in info.value.customer_message and "Wohnsitz" in info.value.customer_message


# ---------------------------------------------------------------- per-person cover


def test_a_person_covered_from_a_later_date_is_left_out() -> None:
    request = make_request()  # from 2027-03-03
    child = dataclasses.replace(FAMILY[3], covered_from=date(2027, 3, 4))
    on_the_day = dataclasses.replace(FAMILY[2], covered_from=date(2027, 3, 3))
    facts = make_facts(insured_persons=(FAMILY[0], FAMILY[1], on_the_day, child))
    certified = certified_persons(request, facts)
    assert certified.persons == (FAMILY[0], FAMILY[1], on_the_day)
    assert certified.later == (child,)
    assert certified_persons(request, make_facts()).later == ()


def test_nobody_covered_from_the_first_day_is_refused() -> None:
    request = make_request()
    later = tuple(dataclasses.replace(p, covered_from=date(2027, 4, 1)) for p in FAMILY[:2])
    with pytest.raises(Reject) as info:
        certified_persons(request, make_facts(insured_persons=later))
    assert info.value.code == "persons_not_yet_covered"
    message = info.value.customer_message
    assert "03.03.2027" in message and "Łucja Öztürk-Şahin ab dem 01.04.2027" in message
    with pytest.raises(HandOff, match="no_insured_persons"):
        certified_persons(request, make_facts(insured_persons=()))


def test_request_rules_need_no_policy() -> None:
    """While the core system is offline, the request alone can already be refused."""
    check_request(make_request(), TODAY)
    with pytest.raises(Reject, match="home_country"):
        check_request(make_request(country="DE"), TODAY)


def test_request_rules_come_first() -> None:
    # a trip to Germany on someone else's policy: the customer learns about the trip, not the policy
    with pytest.raises(Reject, match="home_country"):
        check(make_request(country="DE"), None, TODAY)


def test_policy_rules_alone() -> None:
    check_policy(make_request(), make_facts())
    with pytest.raises(Reject, match="not_ark"):
        check_policy(make_request(), make_facts(line="LEBEN"))


@pytest.mark.parametrize(
    "changes",
    [
        {"country": "XX"},
        {"country": "THA"},
        {"country": "XK"},  # CLDR knows it, ISO 3166-1 does not
        {"country": "EU"},
        {"country": 49},
        {"travel_end": 0},  # a number is no date (it would read as 1970-01-01)
        {"travel_start": 1767225600},
        {"travel_start": "03.03.2027"},
        {"travel_start": "2027-3-3"},
        {"languages": []},
        {"languages": ["de", "de"]},
        {"languages": ["it"]},
        {"languages": ["de", "en", "es", "fr", "de"]},
        {"policy_number": "ARK;DROP"},
        {"customer_id": ""},
    ],
)
def test_malformed_requests_fail_validation(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_request(**changes)


def test_request_normalises_its_input() -> None:
    request = make_request(country=" th ", languages=[" FR", "De"], policy_number=" ark-4711 ")
    assert (request.country, request.languages, request.policy_number) == ("TH", ["fr", "de"], "ARK-4711")
    assert request.trip_days == 22
