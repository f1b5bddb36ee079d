"""The IBAN check of a bank change: what the portal's form asks while the customer types
(`GET /v1/iban/{iban}`) and what the request model checks at the intake.

`check_iban` normalises the input (blanks removed, upper case) and answers with the first reason, in this
order, that makes the IBAN unusable, with a German message for the form:

1. `invalid_characters`: a character other than letters and digits;
2. `length`: nothing, or too short to name a country;
3. `unknown_country`: the first two letters are no country that has IBANs;
4. `not_sepa`: the country is outside the SEPA area (no SEPA direct debit or credit transfer);
5. `length`: not the length of that country's IBANs;
6. `invalid_characters`: no digits at the check digits' place (3rd and 4th);
7. `country_format`: the BBAN (after the check digits) does not have that country's structure;
8. `checksum`: the check digits do not match (a typo);
9. `unknown_bank`: the bank code belongs to no bank, in a country whose every bank code schwifty knows.

Structure, length and checksum are schwifty's checks (its exceptions are mapped to the reasons); BIC and
bank name come from its offline registry. Nothing here logs: the IBAN is personal data (if you log a
result, mask it with `bots.runtime.privacy.mask_ibans`).

Fast enough to run on every key stroke: schwifty loads each country's registry once per process and keeps
it; `warm_up` loads them before the first customer waits for it (the intake calls it when it mounts the
look-up). About 25-50 µs a check after warm-up (benchmarks/iban_lookup.py).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal, get_args

from babel import Locale
from pydantic import BaseModel, ConfigDict, Field
from schwifty import IBAN, registry
from schwifty import exceptions as sx
from schwifty.domain import IBANSpec

from bots.runtime.fields import COUNTRY_CODES

Reason = Literal[
    "invalid_characters",
    "unknown_country",
    "not_sepa",
    "length",
    "country_format",
    "checksum",
    "unknown_bank",
]
REASONS: tuple[Reason, ...] = get_args(Reason)

# SEPA membership is schwifty's `in_sepa_zone` (from SWIFT's IBAN registry), with one correction: the
# registry gives France's flag to the French territories in the Pacific that use France's IBAN format, but
# the EPC's list of the SEPA schemes' geographical scope (EPC409-09) leaves them out: New Caledonia, French
# Polynesia, Wallis and Futuna pay in CFP francs (their own "SEPA COM Pacifique"), and the French Southern
# Territories have no banks.
NOT_SEPA_DESPITE_REGISTRY = frozenset({"NC", "PF", "WF", "TF"})

# Countries whose bank codes schwifty's registry holds in full, generated from the national directory:
# DE the Bundesbank's Bankleitzahlendatei, AT the OeNB's SEPA payment directory, NL the Betaalvereniging's
# BIC list, CH SIX's bank master. There a bank code the registry does not know belongs to no bank. Elsewhere
# the registry holds some banks only (FR, LU, IT, ES … are partly curated by hand, BE leaves out banks
# without a BIC), so an unknown bank code there says nothing and the IBAN is valid without BIC and name.
BANK_DIRECTORY_COUNTRIES = frozenset({"DE", "AT", "NL", "CH"})

# What each national directory calls its bank code, for the message.
_BANK_CODE_TERM = {"DE": "Bankleitzahl", "AT": "Bankleitzahl", "CH": "Institutsnummer (IID)"}

# schwifty's exceptions, most specific first (all derive from SchwiftyException, a ValueError).
_REASON_OF: tuple[tuple[type[sx.SchwiftyException], Reason], ...] = (
    (sx.InvalidLength, "length"),
    (sx.InvalidCountryCode, "unknown_country"),
    (sx.InvalidChecksumDigits, "checksum"),
    (sx.InvalidBBANChecksum, "checksum"),
    (sx.InvalidStructure, "country_format"),
    (sx.InvalidBankCode, "country_format"),
    (sx.InvalidBranchCode, "country_format"),
    (sx.InvalidAccountCode, "country_format"),
    (sx.SchwiftyException, "country_format"),
)
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]*")
_SPEC_PART = re.compile(r"(\d+)!([nac])")
_ONE = {"n": "Ziffer", "a": "Buchstabe", "c": "Buchstabe oder Ziffer"}
_MANY = {"n": "Ziffern", "a": "Buchstaben", "c": "Buchstaben oder Ziffern"}


class IbanCheck(BaseModel):
    """The outcome of an IBAN check: the normalised IBAN, valid or the reason why not, and its bank."""

    model_config = ConfigDict(frozen=True)

    iban: str = Field(
        description="the input without blanks, in upper case", examples=["DE89370400440532013000"]
    )
    valid: bool = Field(description="true: a usable IBAN of a bank in the SEPA area")
    reason: Reason | None = Field(
        description="why the IBAN is not valid (the first of the reasons in the order they are checked); "
        "null when valid",
        examples=["checksum"],
    )
    message: str | None = Field(
        description="the reason in German, for the form; null when valid",
        examples=["Die Prüfziffer der IBAN stimmt nicht. Bitte prüfen Sie die IBAN auf Tippfehler."],
    )
    bic: str | None = Field(
        description="the bank's BIC from the bank registry, when it knows one", examples=["COBADEFFXXX"]
    )
    bank_name: str | None = Field(
        description="the bank's name from the bank registry, when it knows the bank", examples=["Commerzbank"]
    )
    country: str | None = Field(
        description="ISO 3166-1 code of the IBAN's country, when it is one that has IBANs", examples=["DE"]
    )


def normalise(text: str) -> str:
    """Without blanks (spaces, tabs, any white space), ASCII letters in upper case: how an IBAN is stored.
    (Only ASCII is upper-cased: "ß".upper() would be "SS", an IBAN typed with it is no IBAN.)"""
    compact = "".join(text.split())
    return compact.upper() if compact.isascii() else "".join(c.upper() if c.isascii() else c for c in compact)


def check_iban(text: str) -> IbanCheck:
    """Check an IBAN as a customer typed it (lower case and blanks are fine)."""
    compact = normalise(text)
    if not _ASCII_ALNUM.fullmatch(compact):
        return _invalid(compact, "invalid_characters", _characters_message(compact))
    if len(compact) < 2:
        message = "Bitte geben Sie eine IBAN ein." if not compact else "Die IBAN ist zu kurz."
        return _invalid(compact, "length", message)
    country = compact[:2]
    spec = _spec(country)
    if spec is None:
        return _invalid(compact, "unknown_country", _country_message(country))
    if not spec.in_sepa_zone or country in NOT_SEPA_DESPITE_REGISTRY:
        return _invalid(
            compact,
            "not_sepa",
            f"Das Land {country} ({_country_name(country)}) gehört nicht zum SEPA-Raum. "
            "Bitte geben Sie ein Konto bei einer Bank im SEPA-Raum an.",
            country,
        )
    if len(compact) != spec.iban_length:
        return _invalid(
            compact,
            "length",
            f"Eine IBAN mit dem Ländercode {country} hat {spec.iban_length} Stellen, "
            f"diese hat {len(compact)}.",
            country,
        )
    if not compact[2:4].isdigit():
        return _invalid(
            compact,
            "invalid_characters",
            "An der 3. und 4. Stelle der IBAN steht die Prüfziffer: zwei Ziffern.",
            country,
        )
    try:
        iban = IBAN(compact)
    except sx.SchwiftyException as exc:
        reason = next(r for kind, r in _REASON_OF if isinstance(exc, kind))
        return _invalid(compact, reason, _schwifty_message(reason, country, spec), country)
    bank = iban.bank
    if bank is None and country in BANK_DIRECTORY_COUNTRIES:
        term = _BANK_CODE_TERM.get(country, "Bankkennung")
        code = iban.bban.bank_code
        return _invalid(
            compact,
            "unknown_bank",
            f"Die {term} {code} in der IBAN gehört zu keiner Bank. Bitte prüfen Sie die IBAN.",
            country,
        )
    bic = iban.bic if bank is not None else None  # the same registry look-up: no bank, no BIC
    return IbanCheck(
        iban=compact,
        valid=True,
        reason=None,
        message=None,
        bic=str(bic) if bic is not None else None,
        bank_name=bank.name if bank is not None else None,
        country=country,
    )


def warm_up() -> None:
    """Load schwifty's IBAN formats and the bank registries of the SEPA countries now, once per process,
    so that no customer's look-up waits for a registry to load."""
    for country in registry.get_countries():
        spec = _spec(country)
        if spec is not None and spec.in_sepa_zone:
            registry.get_banks_by_country(country)
    check_iban("DE89370400440532013000")  # BIC validation's country list, pydantic's first model build


def _invalid(compact: str, reason: Reason, message: str, country: str | None = None) -> IbanCheck:
    return IbanCheck(
        iban=compact, valid=False, reason=reason, message=message, bic=None, bank_name=None, country=country
    )


@cache
def _spec(country: str) -> IBANSpec | None:
    try:
        return registry.get_iban_spec(country)
    except sx.InvalidCountryCode:
        return None


@cache
def _country_names() -> dict[str, str]:
    return {str(code): str(name) for code, name in Locale("de").territories.items()}


def _country_name(country: str) -> str:
    return _country_names().get(country, country)


def _characters_message(compact: str) -> str:
    bad = list(dict.fromkeys(c for c in compact if not ("A" <= c <= "Z" or "0" <= c <= "9")))
    shown = ", ".join(f"„{c}“" if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:3])
    which = "das Zeichen" if len(bad) == 1 else "die Zeichen"
    return f"Die IBAN enthält {which} {shown}. Erlaubt sind nur Buchstaben und Ziffern."


def _country_message(country: str) -> str:
    if country.isalpha() and country in COUNTRY_CODES:
        return f"Im Land {country} ({_country_name(country)}) gibt es keine IBAN."
    return f"„{country}“ ist kein Ländercode. Eine IBAN beginnt mit dem Ländercode ihres Landes, z. B. DE."


def _schwifty_message(reason: Reason, country: str, spec: IBANSpec) -> str:
    if reason == "checksum":
        return "Die Prüfziffer der IBAN stimmt nicht. Bitte prüfen Sie die IBAN auf Tippfehler."
    if reason == "length":  # checked before schwifty; kept for completeness
        return f"Eine IBAN mit dem Ländercode {country} hat {spec.iban_length} Stellen."
    if reason == "unknown_country":
        return _country_message(country)
    return (
        f"Die IBAN hat nicht den Aufbau einer IBAN mit dem Ländercode {country}: "
        f"nach der Prüfziffer folgen dort {_bban_structure(spec.bban_spec)}."
    )


@cache
def _bban_structure(bban_spec: str) -> str:
    """'8!n10!n' -> '18 Ziffern'; '1!a5!n5!n12!c' -> '1 Buchstabe, dann 10 Ziffern, dann 12 Buchstaben oder
    Ziffern' (SWIFT's notation: n digits, a upper-case letters, c letters or digits; all fixed length)."""
    parts: list[tuple[str, int]] = []
    for count, kind in _SPEC_PART.findall(bban_spec):
        if parts and parts[-1][0] == kind:
            parts[-1] = (kind, parts[-1][1] + int(count))
        else:
            parts.append((kind, int(count)))
    return ", dann ".join(f"{n} {_ONE[kind] if n == 1 else _MANY[kind]}" for kind, n in parts)
