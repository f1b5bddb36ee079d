"""The Postfach message that carries a customer's certificate: German subject and body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date

from bots.ark_certificate.certificate import IssuedCertificate, nfc_names
from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.rules import Certified, cover_begins
from bots.insurer.facts import InsuredPerson, Policy

LANGUAGE_NAMES_DE = {"de": "Deutsch", "en": "Englisch", "es": "Spanisch", "fr": "Französisch"}
NUMBER_WORDS_DE = {2: "zwei", 3: "drei", 4: "vier"}


def _country(request: ArkRequest) -> str:
    # without article or preposition ("Reiseziel: Türkei"): "nach Türkei" or "für Schweiz" would be wrong
    return str(Locale("de").territories.get(request.country, request.country))


def _date(value: date, form: str = "long") -> str:
    return format_date(value, form, locale="de")


def request_label(payload: Mapping[str, Any]) -> str:
    """The request in a few German words, from its stored payload (which a refusal may find malformed)."""
    code = str(payload.get("country", ""))
    country = Locale("de").territories.get(code, code)
    try:
        start = format_date(date.fromisoformat(str(payload["travel_start"])), "medium", locale="de")
        end = format_date(date.fromisoformat(str(payload["travel_end"])), "medium", locale="de")
        trip = f", Reiseziel {country}, {start} bis {end}"
    except (KeyError, ValueError):
        trip = f", Reiseziel {country}" if country else ""
    policy = payload.get("policy_number", "–")
    return f"Bescheinigung Ihrer Auslandsreise-Krankenversicherung (Vertrag {policy}{trip})"


def certificate_subject(request: ArkRequest, policy: Policy) -> str:
    return (
        f"Ihre Bescheinigung zur Auslandsreise-Krankenversicherung – Reiseziel: {_country(request)} "
        f"(Vertrag {policy.policy_number})"
    )


def _persons(persons: Sequence[InsuredPerson]) -> str:
    return "\n".join(
        f"  • {p.full_name}, geboren am {_date(p.birth_date, 'medium')}" for p in map(nfc_names, persons)
    )


def certificate_body(
    request: ArkRequest, policy: Policy, certified: Certified, certificates: Sequence[IssuedCertificate]
) -> str:
    """The message's text: the trip, who is certified (and who not yet), the attached language versions."""
    period = f"{_date(request.travel_start)} bis {_date(request.travel_end)}"
    number = certificates[0].certificate_number
    files = "\n".join(f"  • {c.filename} ({LANGUAGE_NAMES_DE[c.lang]})" for c in certificates)
    if len(certificates) == 1:
        attached = f"Die Bescheinigung (Nr. {number}) ist als PDF-Datei angehängt:\n{files}"
    else:
        count = NUMBER_WORDS_DE.get(len(certificates), str(len(certificates)))
        attached = (
            f"Die Bescheinigung (Nr. {number}) ist in {count} Sprachen angehängt, jede Sprachfassung als "
            f"eigene PDF-Datei mit derselben Nummer:\n{files}"
        )
    if certified.later:
        whom = (
            "Die Bescheinigung nennt die versicherten Personen, die ab dem ersten Reisetag versichert sind:"
        )
        later = "\n".join(
            f"  • {p.full_name}: versichert ab {_date(cover_begins(p, policy))}"
            for p in map(nfc_names, certified.later)
        )
        day = "dem genannten Tag" if len(certified.later) == 1 else "dem jeweils genannten Tag"
        left_out = (
            f"\n\nNicht genannt ist, wer erst nach dem Reisebeginn versichert ist:\n{later}\n"
            f"Für eine Reise, die ab {day} beginnt, können Sie gern eine neue Bescheinigung anfordern."
        )
    elif len(certified.persons) == 1:
        whom, left_out = "Die Bescheinigung gilt für die versicherte Person Ihres Vertrags:", ""
    else:
        whom, left_out = "Die Bescheinigung gilt für alle versicherten Personen Ihres Vertrags:", ""
    return f"""Guten Tag,

anbei erhalten Sie die Bescheinigung über Ihre Auslandsreise-Krankenversicherung für Ihre Reise
vom {period} (Reiseziel: {_country(request)}; Vertrag {policy.policy_number}).

{whom}
{_persons(certified.persons)}{left_out}

{attached}

Bitte führen Sie die Bescheinigung auf der Reise mit sich; sie nennt auch unsere Notrufnummer,
die rund um die Uhr erreichbar ist.

Wir wünschen Ihnen eine gute Reise.

Ihr Kundenservice
(Diese Nachricht wurde automatisch erstellt.)
"""
