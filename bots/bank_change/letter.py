"""The confirmation letter of a bank change: a German PDF on the insurer's letterhead for the Postfach.

It names what changed, and nothing a reader could misuse: old and new IBAN masked, BIC and bank of the new
account, every policy with the roles changed, and for a debit account the SEPA mandate that now applies
(mandate reference and the insurer's creditor identifier), as a creditor must tell the debtor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table

from bots.insurer.letterhead import (
    CONTENT_WIDTH,
    Insurer,
    german_letter,
    grid_table,
    house_styles,
    label_table,
    letterhead,
    render_document,
    request_footer,
)
from bots.runtime.privacy import mask_iban

ROLE_LABELS = {"debit": "Beitragseinzug (Lastschrift)", "credit": "Auszahlungen (Erstattungen, Leistungen)"}
LINE_LABELS = {
    "KV": "Krankenversicherung",
    "ARK": "Auslandsreise-Kranken",
    "LEBEN": "Leben",
    "KOMPOSIT": "Sach",
}


@dataclass(frozen=True)
class ChangedAccount:
    """One role of one policy that now uses the new account."""

    policy_number: str
    line: str
    role: str  # debit | credit
    old_iban: str | None  # None: the policy had no account for this role
    mandate_reference: str | None = None  # debit: the SEPA mandate that now applies


@dataclass(frozen=True)
class Confirmation:
    customer_id: str
    holder: str  # the account holder: always the customer as the policy administration knows them
    new_iban: str
    bic: str
    bank_name: str
    changed: tuple[ChangedAccount, ...]
    creditor_id: str  # the insurer's SEPA creditor identifier (Gläubiger-Identifikationsnummer)
    issue_date: date
    reference: str  # the request's reference, printed in the footer

    @property
    def filename(self) -> str:
        """Unique per request: a customer may change their bank details twice in a day."""
        letter = hashlib.sha256(self.reference.encode()).hexdigest()[:6].upper()
        return f"Bestaetigung-Bankverbindung-{self.issue_date:%Y%m%d}-{letter}.pdf"


def render_confirmation(letter: Confirmation, insurer: Insurer) -> bytes:
    """The letter as PDF bytes (the same bytes for the same input)."""
    s = house_styles()
    story: list[Flowable] = [
        letterhead(insurer, "Telefon"),
        Spacer(1, 9 * mm),
        Paragraph("Bestätigung Ihrer neuen Bankverbindung", s["title"]),
        Paragraph(
            f"Kundennummer {escape(letter.customer_id)} · {_day(letter.issue_date)}",
            s["subtitle"],
        ),
        Paragraph(f"Guten Tag {escape(letter.holder)},", s["statement"]),
        Spacer(1, 2 * mm),
        Paragraph(
            "wie von Ihnen im Kundenportal beauftragt, haben wir Ihre Bankverbindung geändert. "
            "Ab sofort gilt für die unten genannten Verträge dieses Konto:",
            s["statement"],
        ),
        Spacer(1, 3 * mm),
        label_table(
            [
                ("Kontoinhaber", letter.holder),
                ("IBAN", mask_iban(letter.new_iban)),
                ("BIC", letter.bic),
                ("Kreditinstitut", letter.bank_name),
            ]
        ),
        Paragraph("Geänderte Verträge", s["heading"]),
        _changes_table(letter.changed),
    ]
    debits = [c for c in letter.changed if c.role == "debit"]
    if debits:
        story += [
            Paragraph("Ihr SEPA-Lastschriftmandat", s["heading"]),
            Paragraph(
                "Die Beiträge ziehen wir ab der nächsten Fälligkeit von Ihrem neuen Konto ein. Dafür gilt das "
                f"SEPA-Lastschriftmandat mit unserer Gläubiger-Identifikationsnummer "
                f"<b>{escape(letter.creditor_id)}</b> und {_mandates(debits)}. Sie können innerhalb von acht "
                "Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen; "
                "es gelten dabei die mit Ihrem Kreditinstitut vereinbarten Bedingungen.",
                s["statement"],
            ),
        ]
    if any(c.role == "credit" for c in letter.changed):
        story += [
            Spacer(1, 2 * mm),
            Paragraph("Erstattungen und Leistungen überweisen wir künftig auf dieses Konto.", s["statement"]),
        ]
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            "Haben Sie diese Änderung nicht selbst veranlasst? Dann melden Sie sich bitte sofort unter "
            f"{escape(insurer.phone)}; wir setzen die Änderung zurück.",
            s["statement"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(f"Freundliche Grüße<br/>Ihr Kundenservice der {escape(insurer.name)}", s["statement"]),
        Spacer(1, 2 * mm),
        Paragraph("Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.", s["small"]),
    ]
    info = german_letter(
        "Bestätigung Ihrer neuen Bankverbindung",
        f"Bankverbindung, Kundennummer {letter.customer_id}",
        insurer,
    )
    return render_document(story, insurer, info, request_footer(letter.reference))


def _changes_table(changed: Sequence[ChangedAccount]) -> Table:
    s = house_styles()
    head = [Paragraph(text, s["cell_head"]) for text in ("Vertrag", "Verwendung", "bisherige IBAN")]
    rows = [
        [
            Paragraph(f"{escape(c.policy_number)}<br/>{escape(LINE_LABELS.get(c.line, c.line))}", s["base"]),
            Paragraph(escape(ROLE_LABELS.get(c.role, c.role)), s["base"]),
            Paragraph(escape(mask_iban(c.old_iban)) if c.old_iban else "– (neu eingerichtet)", s["base"]),
        ]
        for c in changed
    ]
    widths = [45 * mm, 70 * mm, CONTENT_WIDTH - 115 * mm]
    return grid_table([head, *rows], widths)


def _mandates(debits: Sequence[ChangedAccount]) -> str:
    """'der Mandatsreferenz <b>REF</b>' for one policy, else 'den Mandatsreferenzen REF1 (Vertrag 1), …'."""
    refs = {c.policy_number: c.mandate_reference or "(folgt gesondert)" for c in debits}
    if len(refs) == 1:
        return f"der Mandatsreferenz <b>{escape(next(iter(refs.values())))}</b>"
    listed = ", ".join(f"<b>{escape(ref)}</b> (Vertrag {escape(number)})" for number, ref in refs.items())
    return f"den Mandatsreferenzen {listed}"


def _day(day: date) -> str:
    return format_date(day, "d. MMMM yyyy", locale="de")
