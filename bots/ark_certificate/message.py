"""The Postfach message that carries a customer's certificates: German subject and body."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date

from bots.ark_certificate.certificate import IssuedCertificate
from bots.ark_certificate.request import ArkRequest
from bots.insurer.facts import Policy

LANGUAGE_NAMES_DE = {"de": "Deutsch", "en": "Englisch", "es": "Spanisch", "fr": "Französisch"}


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
    return f"Bescheinigung Ihrer Auslandsreise-Krankenversicherung (Vertrag {payload.get('policy_number', '–')}{trip})"


def certificate_subject(request: ArkRequest, policy: Policy) -> str:
    country = Locale("de").territories.get(request.country, request.country)
    return f"Ihre Reisekrankenversicherungs-Bescheinigung für {country} ({policy.policy_number})"


def certificate_body(request: ArkRequest, policy: Policy, certificates: list[IssuedCertificate]) -> str:
    country = Locale("de").territories.get(request.country, request.country)
    period = f"{format_date(request.travel_start, 'long', locale='de')} bis " + format_date(
        request.travel_end, "long", locale="de"
    )
    persons = "\n".join(
        f"  • {p.full_name}, geboren am {format_date(p.birth_date, 'medium', locale='de')}"
        for p in policy.insured_persons
    )
    files = "\n".join(
        f"  • {c.filename} ({LANGUAGE_NAMES_DE[c.lang]}, Bescheinigung Nr. {c.certificate_number})"
        for c in certificates
    )
    return f"""Guten Tag,

anbei erhalten Sie die Bescheinigungen Ihrer Auslandsreise-Krankenversicherung für Ihre Reise nach
{country} vom {period} (Vertrag {policy.policy_number}).

Die Bescheinigungen gelten für alle versicherten Personen Ihres Vertrags:
{persons}

Angehängte Dokumente:
{files}

Bitte führen Sie die Bescheinigung auf der Reise mit sich; sie nennt auch unsere Notrufnummer,
die rund um die Uhr erreichbar ist. Für ein Schengen-Visum legen Sie sie dem Konsulat vor.

Wir wünschen Ihnen eine gute Reise.

Ihr Kundenservice
(Diese Nachricht wurde automatisch erstellt.)
"""
