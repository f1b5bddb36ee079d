"""The IBAN check of the bank change: the corpus with exact outcomes (BIC and bank name as schwifty's registry
gives them), the order of the reasons, and the request model that uses it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from schwifty import IBAN

from bots.bank_change.iban import (
    BANK_DIRECTORY_COUNTRIES,
    NOT_SEPA_DESPITE_REGISTRY,
    REASONS,
    check_iban,
    normalise,
)
from bots.bank_change.request import MAX_POLICIES, BankChangeRequest


def with_check_digits(country: str, bban: str) -> str:
    """The IBAN of `bban` with correct check digits (ISO 7064 mod 97-10), computed here, not by schwifty."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


# A real-format IBAN of a real bank for each country: normalised IBAN, BIC, bank name.
VALID = [
    ("DE89370400440532013000", "COBADEFFXXX", "Commerzbank"),
    ("AT483200000012345864", "RLNWATWWXXX", "RAIFFEISENLANDESBANK NIEDERÖSTERREICH-WIEN AG"),
    ("FR1420041010050500013M02606", "PSSTFRPP", "LA BANQUE POSTALE"),
    ("NL91ABNA0417164300", "ABNANL2A", "ABN AMRO BANK N.V."),
    ("ES9121000418450200051332", "CAIXESBB", "CAIXABANK, S.A."),
    ("IT60X0542811101000000123456", "BLOPIT22", "Unione Di Banche Italiane SpA"),
]


@pytest.mark.parametrize(("iban", "bic", "bank_name"), VALID, ids=[v[0][:2] for v in VALID])
def test_a_valid_iban_names_its_bank(iban: str, bic: str, bank_name: str) -> None:
    check = check_iban(iban)
    assert check.model_dump() == {
        "iban": iban,
        "valid": True,
        "reason": None,
        "message": None,
        "bic": bic,
        "bank_name": bank_name,
        "country": iban[:2],
    }
    schwifty = IBAN(iban)  # exactly what schwifty gives
    assert (str(schwifty.bic), schwifty.bank_name) == (bic, bank_name)


def test_lower_case_and_blanks_are_fine_and_normalised() -> None:
    for typed in (
        "de89 3704 0044 0532 0130 00",
        " DE89\t3704 0044\u00a00532 013000 ",
        "De8937040044 0532013000",
    ):
        check = check_iban(typed)
        assert check.valid and check.iban == "DE89370400440532013000" and check.bic == "COBADEFFXXX"
    assert normalise("fr14 2004 1010 0505 0001 3m02 606") == "FR1420041010050500013M02606"


INVALID: list[tuple[str, str, str, str | None]] = [
    # input, reason, message, country
    (
        "DE89370400440532013001",
        "checksum",
        "Die Prüfziffer der IBAN stimmt nicht. Bitte prüfen Sie die IBAN auf Tippfehler.",
        "DE",
    ),
    (
        "DE98370400440532013000",  # two digits swapped
        "checksum",
        "Die Prüfziffer der IBAN stimmt nicht. Bitte prüfen Sie die IBAN auf Tippfehler.",
        "DE",
    ),
    (
        "nl91 abna 0417 1643 01",
        "checksum",
        "Die Prüfziffer der IBAN stimmt nicht. Bitte prüfen Sie die IBAN auf Tippfehler.",
        "NL",
    ),
    (
        "DE8937040044053201300",
        "length",
        "Eine IBAN mit dem Ländercode DE hat 22 Stellen, diese hat 21.",
        "DE",
    ),
    (
        "DE893704004405320130000",
        "length",
        "Eine IBAN mit dem Ländercode DE hat 22 Stellen, diese hat 23.",
        "DE",
    ),
    (
        "AT48 3200 0000 1234 586",
        "length",
        "Eine IBAN mit dem Ländercode AT hat 20 Stellen, diese hat 19.",
        "AT",
    ),
    ("", "length", "Bitte geben Sie eine IBAN ein.", None),
    ("d", "length", "Die IBAN ist zu kurz.", None),
    (
        "BR1800360305000010009795493C1",
        "not_sepa",
        "Das Land BR (Brasilien) gehört nicht zum SEPA-Raum. Bitte geben Sie ein Konto bei einer Bank im "
        "SEPA-Raum an.",
        "BR",
    ),
    (
        "NC8411006000000123456789012",  # France's format, but not in SEPA (CFP franc)
        "not_sepa",
        "Das Land NC (Neukaledonien) gehört nicht zum SEPA-Raum. Bitte geben Sie ein Konto bei einer Bank "
        "im SEPA-Raum an.",
        "NC",
    ),
    (
        "US64SVBKUS6S3300958879",
        "unknown_country",
        "Im Land US (Vereinigte Staaten) gibt es keine IBAN.",
        None,
    ),
    (
        "XX89370400440532013000",
        "unknown_country",
        "„XX“ ist kein Ländercode. Eine IBAN beginnt mit dem Ländercode ihres Landes, z. B. DE.",
        None,
    ),
    (
        "DE89-3704-0044-0532-0130-00",
        "invalid_characters",
        "Die IBAN enthält das Zeichen „-“. Erlaubt sind nur Buchstaben und Ziffern.",
        None,
    ),
    (
        "DE89 3704 0044 0532 0130 0ß",  # not upper-cased into "SS"
        "invalid_characters",
        "Die IBAN enthält das Zeichen „ß“. Erlaubt sind nur Buchstaben und Ziffern.",
        None,
    ),
    (
        "DEXX370400440532013000",
        "invalid_characters",
        "An der 3. und 4. Stelle der IBAN steht die Prüfziffer: zwei Ziffern.",
        "DE",
    ),
    (
        with_check_digits("DE", "37040044053201300A"),  # a letter where Germany has digits only
        "country_format",
        "Die IBAN hat nicht den Aufbau einer IBAN mit dem Ländercode DE: nach der Prüfziffer folgen dort "
        "18 Ziffern.",
        "DE",
    ),
    (
        with_check_digits("IT", "0054281110100000012345X"),
        "country_format",
        "Die IBAN hat nicht den Aufbau einer IBAN mit dem Ländercode IT: nach der Prüfziffer folgen dort "
        "1 Buchstabe, dann 10 Ziffern, dann 12 Buchstaben oder Ziffern.",
        "IT",
    ),
    (
        with_check_digits("DE", "123456780532013000"),  # the checksum is right, bank code 12345678 is no bank
        "unknown_bank",
        "Die Bankleitzahl 12345678 in der IBAN gehört zu keiner Bank. Bitte prüfen Sie die IBAN.",
        "DE",
    ),
    (
        with_check_digits("NL", "ZZZZ0417164300"),
        "unknown_bank",
        "Die Bankkennung ZZZZ in der IBAN gehört zu keiner Bank. Bitte prüfen Sie die IBAN.",
        "NL",
    ),
]


@pytest.mark.parametrize(("typed", "reason", "message", "country"), INVALID, ids=[i[1] for i in INVALID])
def test_an_invalid_iban_says_exactly_why(typed: str, reason: str, message: str, country: str | None) -> None:
    check = check_iban(typed)
    assert check.model_dump() == {
        "iban": normalise(typed),
        "valid": False,
        "reason": reason,
        "message": message,
        "bic": None,
        "bank_name": None,
        "country": country,
    }
    assert reason in REASONS


def test_schwifty_accepts_a_german_iban_of_no_bank_which_the_check_refuses() -> None:
    iban = with_check_digits("DE", "123456780532013000")
    assert iban == "DE65123456780532013000"
    accepted = IBAN(iban)  # the trap: valid to schwifty, without BIC or bank
    assert accepted.bic is None and accepted.bank is None
    assert check_iban(iban).reason == "unknown_bank"


def test_the_non_sepa_iban_is_otherwise_valid() -> None:
    assert IBAN("BR1800360305000010009795493C1").in_sepa_zone is False  # well-formed, checksum right


def test_an_unknown_bank_code_is_valid_where_the_registry_is_incomplete() -> None:
    """France's registry is curated by hand: a bank code it does not know says nothing."""
    iban = with_check_digits("FR", "99999010050500013M02606")
    assert "FR" not in BANK_DIRECTORY_COUNTRIES
    check = check_iban(iban)
    assert (check.valid, check.reason, check.bic, check.bank_name) == (True, None, None, None)


def test_sepa_is_schwiftys_list_without_the_pacific_territories() -> None:
    from schwifty import registry

    for country in NOT_SEPA_DESPITE_REGISTRY:
        assert registry.get_iban_spec(country).in_sepa_zone  # what the registry says, and we correct
    for country in ("DE", "AT", "CH", "GB", "NO", "MC", "SM", "VA", "GF", "RE"):
        assert registry.get_iban_spec(country).in_sepa_zone, country


@pytest.mark.parametrize("country", sorted(BANK_DIRECTORY_COUNTRIES))
def test_every_country_checked_for_its_bank_has_a_full_registry(country: str) -> None:
    from schwifty import registry

    assert len(registry.get_banks_by_country(country)) > 50


REQUEST: dict[str, Any] = {
    "customer_id": "K100001",
    "iban": "de89 3704 0044 0532 0130 00",
    "policies": [{"policy_number": "lv-4713-0001", "roles": ["Debit", "credit"]}],
}


def test_the_request_stores_the_normalised_iban() -> None:
    request = BankChangeRequest.model_validate(REQUEST)
    assert request.iban == "DE89370400440532013000"
    assert request.policies[0].policy_number == "LV-4713-0001" and request.policies[0].roles == [
        "debit",
        "credit",
    ]
    assert (
        BankChangeRequest.model_validate(request.model_dump()) == request
    )  # the stored payload validates again


def errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        BankChangeRequest.model_validate(body)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def test_an_invalid_iban_is_refused_naming_the_reason() -> None:
    unknown_bank = with_check_digits("DE", "123456780532013000")
    assert errors({**REQUEST, "iban": unknown_bank}) == [
        (
            "iban",
            "unknown_bank: Die Bankleitzahl 12345678 in der IBAN gehört zu keiner Bank. Bitte prüfen Sie die IBAN.",
        )
    ]
    assert errors({**REQUEST, "iban": "DE89370400440532013001"})[0][1].startswith("checksum: ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holder": "Erika Mustermann"}, "holder"),
        ({"policies": []}, "policies"),
        (
            {
                "policies": [
                    {"policy_number": f"LV-4713-{n:04d}", "roles": ["debit"]} for n in range(MAX_POLICIES + 1)
                ]
            },
            "policies",
        ),
        (
            {
                "policies": [
                    {"policy_number": "LV-4713-0001", "roles": ["debit"]},
                    {"policy_number": "lv-4713-0001", "roles": ["credit"]},
                ]
            },
            "policies",
        ),
        ({"policies": [{"policy_number": "LV-4713-0001", "roles": ["debit", "debit"]}]}, "policies.0.roles"),
        ({"policies": [{"policy_number": "LV-4713-0001", "roles": []}]}, "policies.0.roles"),
        ({"policies": [{"policy_number": "LV-4713-0001", "roles": ["owner"]}]}, "policies.0.roles.0"),
        ({"policies": [{"policy_number": "LV 4713 0001;", "roles": ["debit"]}]}, "policies.0.policy_number"),
        (
            {"policies": [{"policy_number": "LV-4713-0001", "roles": ["debit"], "iban": "x"}]},
            "policies.0.iban",
        ),
        ({"customer_id": "  "}, "customer_id"),
        ({"customer_id": "K10\x000001"}, "customer_id"),  # a NUL could not be stored
        ({"iban": "   ".join("DE89370400440532013000")}, "iban"),  # 85 characters with the blanks
    ],
)
def test_the_request_rules(change: dict[str, Any], field: str) -> None:
    assert field in [loc for loc, _ in errors({**REQUEST, **change})]
