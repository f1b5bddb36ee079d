"""What the policy administration checks of a bank account before it stores it, as a real core system would:
the IBAN with schwifty's offline registry (BIC and bank name derived), and who ordered the change."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import IBAN, registry
from schwifty.exceptions import (
    InvalidBankCode,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)

AUTHORITY_MAX = 100
# who ordered an account change: the robot, or a clerk by name (the history shows it)
BOT_AUTHORITY = "bot"
CLERK_PREFIX = "clerk:"


class Refused(ValueError):
    """The system refuses the input; the message is the German reason the page shows."""


@dataclass(frozen=True)
class CheckedIban:
    """A valid IBAN of the SEPA zone with what the registry knows of its bank ("" where it knows nothing)."""

    iban: str  # compact, upper case
    bic: str
    bank_name: str


def compact(iban: str) -> str:
    """The IBAN as stored: without any whitespace, upper case."""
    return re.sub(r"\s+", "", iban).upper()


def check_iban(text: str) -> CheckedIban:
    """The checked IBAN; Refused with a German reason when it cannot be used for a debit or credit account.

    Refused: an unknown country code, a wrong length or structure for its country, a wrong checksum, a
    country outside the SEPA zone, and a German bank code the Bundesbank's register does not know (schwifty
    accepts such an IBAN when its checksum is right, with no BIC). A foreign IBAN of the SEPA zone whose
    bank the registry does not list is accepted without BIC: SEPA payments need none.
    """
    value = compact(text)
    if not value:
        raise Refused("Bitte eine IBAN angeben.")
    parsed = _parse(value)
    if not parsed.in_sepa_zone:
        raise Refused(f"Die IBAN stammt aus {parsed.country_code}, einem Land außerhalb des SEPA-Raums.")
    bic = parsed.bic
    if bic is None and parsed.country_code == "DE":
        raise Refused(f"Die Bankleitzahl {parsed.bank_code} in der IBAN ist unbekannt.")
    return CheckedIban(str(parsed), str(bic or ""), str(parsed.bank_name or ""))


def _parse(value: str) -> IBAN:
    country = value[:2]
    try:
        return IBAN(value)
    except InvalidCountryCode:
        problem = f"Unbekanntes Länderkennzeichen „{country}“ in der IBAN."
    except InvalidLength:
        problem = _length_problem(country, len(value))
    except InvalidChecksumDigits:
        problem = "Die Prüfziffer der IBAN ist falsch."
    except InvalidBankCode:
        problem = "Die Bankleitzahl in der IBAN ist unbekannt."
    except InvalidStructure:
        if value.isalnum():
            problem = f"Die IBAN entspricht nicht dem Aufbau einer IBAN aus {country}."
        else:
            problem = "Die IBAN enthält unzulässige Zeichen."
    except SchwiftyException:
        problem = "Die IBAN ist ungültig."
    raise Refused(problem)


def _length_problem(country: str, length: int) -> str:
    try:
        expected = registry.get_iban_spec(country).iban_length
    except SchwiftyException:
        return "Die IBAN hat nicht die richtige Länge."
    return f"Die IBAN hat {length} Stellen; eine IBAN aus {country} hat {expected}."


def check_authority(text: str) -> str:
    """Who ordered the change, whitespace tidied; Refused with a German reason when it is missing or unusable."""
    value = " ".join(text.split())
    if not value:
        raise Refused("Bitte angeben, wer die Änderung veranlasst hat (bot oder clerk:Name).")
    if len(value) > AUTHORITY_MAX:
        raise Refused(f"Die Angabe, wer die Änderung veranlasst hat, ist länger als {AUTHORITY_MAX} Zeichen.")
    if value.lower().startswith(CLERK_PREFIX) and not value[len(CLERK_PREFIX) :].strip():
        raise Refused("Bitte den Namen der Sachbearbeiterin oder des Sachbearbeiters angeben (clerk:Name).")
    return value


def authority_label(authority: str) -> str:
    """The history's German text for who ordered a change."""
    if authority == BOT_AUTHORITY:
        return "Robot (Dunkelverarbeitung)"
    if authority.lower().startswith(CLERK_PREFIX):
        return f"Sachbearbeitung: {authority[len(CLERK_PREFIX) :].strip()}"
    return authority
