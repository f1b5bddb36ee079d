"""The Postfach message that carries a customer's certificates: German subject and body, PDFs attached."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from babel import Locale
from babel.dates import format_date

from bots.ark_certificate.certificate import IssuedCertificate
from bots.ark_certificate.facts import PolicyFacts
from bots.ark_certificate.request import ArkRequest
from bots.runtime.mail import Mailer

LANGUAGE_NAMES_DE = {"de": "Deutsch", "en": "Englisch", "es": "Spanisch", "fr": "Französisch"}


def message_id(reference: str, domain: str = "portalbots.test") -> str:
    """The same for every attempt of one request, unique across requests (the item's reference, not its
    database id): the Postfach stores a Message-ID once, so a retry never delivers twice."""
    digest = hashlib.sha256(f"ark_certificate:{reference}".encode()).hexdigest()[:32]
    return f"<ark-certificate-{digest}@{domain}>"


def certificate_message(
    mailer: Mailer,
    to: str,
    reference: str,
    request: ArkRequest,
    facts: PolicyFacts,
    certificates: list[IssuedCertificate],
) -> EmailMessage:
    country = Locale("de").territories.get(request.country, request.country)
    period = f"{format_date(request.travel_start, 'long', locale='de')} bis " + format_date(
        request.travel_end, "long", locale="de"
    )
    persons = "\n".join(
        f"  • {p.full_name}, geboren am {format_date(p.birth_date, 'medium', locale='de')}"
        for p in facts.insured_persons
    )
    files = "\n".join(
        f"  • {c.filename} ({LANGUAGE_NAMES_DE[c.lang]}, Bescheinigung Nr. {c.certificate_number})"
        for c in certificates
    )
    body = f"""Guten Tag,

anbei erhalten Sie die Bescheinigungen Ihrer Auslandsreise-Krankenversicherung für Ihre Reise nach
{country} vom {period} (Vertrag {facts.policy_number}).

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
    subject = f"Ihre Reisekrankenversicherungs-Bescheinigung für {country} ({facts.policy_number})"
    msg = mailer.message(to, subject, body, message_id=message_id(reference))
    for cert in certificates:
        msg.add_attachment(cert.pdf, maintype="application", subtype="pdf", filename=cert.filename)
    return msg
