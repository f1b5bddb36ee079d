"""The ARK request's schema states the rules its validators apply: what the schema allows is accepted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from bots.ark_certificate.request import COUNTRY_CODES, ArkRequest

SCHEMA = ArkRequest.model_json_schema()
PROPS = SCHEMA["properties"]
VALID: dict[str, Any] = {
    "customer_id": "K100001",
    "policy_number": "ARK-4711-0001",
    "travel_start": "2027-03-01",
    "travel_end": "2027-03-10",
    "country": "TH",
    "languages": ["de", "fr"],
}


def test_every_country_of_the_enum_is_accepted() -> None:
    assert PROPS["country"]["enum"] == sorted(COUNTRY_CODES)
    for code in PROPS["country"]["enum"]:
        assert ArkRequest.model_validate({**VALID, "country": code}).country == code


@pytest.mark.parametrize("value", ["ARK-4711-0001", "a.b/c 1-2", "7" * 40, "X"])
def test_policy_numbers_the_pattern_allows_are_accepted(value: str) -> None:
    assert (
        re.search(PROPS["policy_number"]["pattern"], value)
        and len(value) <= PROPS["policy_number"]["maxLength"]
    )
    assert ArkRequest.model_validate({**VALID, "policy_number": value}).policy_number == value.upper()


@pytest.mark.parametrize("value", ["-ARK", "ARK_1", "ARK#1", "Ä1", "7" * 41])
def test_policy_numbers_the_pattern_refuses_are_refused(value: str) -> None:
    pattern, longest = PROPS["policy_number"]["pattern"], PROPS["policy_number"]["maxLength"]
    assert not re.search(pattern, value) or len(value) > longest
    with pytest.raises(ValidationError):
        ArkRequest.model_validate({**VALID, "policy_number": value})


def test_the_schema_states_the_list_and_date_rules() -> None:
    languages = PROPS["languages"]
    assert languages["uniqueItems"] is True and (languages["minItems"], languages["maxItems"]) == (1, 4)
    assert PROPS["travel_start"]["format"] == PROPS["travel_end"]["format"] == "date"
    assert re.search(PROPS["customer_id"]["pattern"], "K1") and not re.search(
        PROPS["customer_id"]["pattern"], "  "
    )
    with pytest.raises(ValidationError, match="must not repeat"):
        ArkRequest.model_validate({**VALID, "languages": ["de", "de"]})
    with pytest.raises(ValidationError):
        ArkRequest.model_validate({**VALID, "customer_id": "   "})


def test_the_validators_still_normalise_what_the_schema_does_not_advertise() -> None:
    request = ArkRequest.model_validate(
        {**VALID, "country": " th ", "languages": ["DE", " En"], "policy_number": " ark-1 "}
    )
    assert (request.country, request.languages, request.policy_number) == ("TH", ["de", "en"], "ARK-1")
    with pytest.raises(ValidationError, match="no ISO 3166-1 country code"):
        ArkRequest.model_validate({**VALID, "country": "XX"})


def test_the_examples_make_a_valid_request() -> None:
    example = {name: prop["examples"][0] for name, prop in PROPS.items()}
    assert ArkRequest.model_validate(example).trip_days == 10
