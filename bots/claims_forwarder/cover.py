"""The cover sheet of a forwarded submission: a German PDF on the insurer's letterhead for the department.

It states who submitted what for which policies: the customer, the department's policies with their insured
persons, when the submission came in, and each file with its type by content, its pages and its SHA-256
(so the clerk can tell the originals are the customer's bytes), and the customer's note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table

from bots.claims_forwarder.inspection import TYPE_NAMES
from bots.insurer.facts import InsuredPerson
from bots.insurer.letterhead import (
    CONTENT_WIDTH,
    Insurer,
    german_letter,
    grid_table,
    house_styles,
    label_table,
    letterhead,
    missing_glyphs,
    name_paragraph,
    render_document,
    request_footer,
    table_style,
)

ROLE_NAMES = {"VN": "VN", "Ehepartner": "Ehepartner/in", "Kind": "Kind"}


@dataclass(frozen=True)
class CoverPolicy:
    policy_number: str
    tariff: str
    department: str
    persons: tuple[InsuredPerson, ...]


@dataclass(frozen=True)
class CoverFile:
    name: str  # as sent
    original_name: str  # as the customer's device named it
    kind: str
    pages: int
    size: int
    sha256: str
    width: int = 0  # images: pixels
    height: int = 0


@dataclass(frozen=True)
class CoverSheet:
    customer_id: str
    customer_name: str
    customer_birth_date: date | None
    department_name: str
    policies: tuple[CoverPolicy, ...]
    files: tuple[CoverFile, ...]
    submitted: str  # formatted local time
    message: str
    reference: str


def render_cover(sheet: CoverSheet, insurer: Insurer) -> bytes:
    """The cover sheet as PDF bytes (the same bytes for the same input)."""
    s = house_styles()
    pages = sum(f.pages for f in sheet.files)
    story: list[Flowable] = [
        letterhead(insurer, "Telefon"),
        Spacer(1, 7 * mm),
        Paragraph("Leistungsantrag Krankenversicherung – Deckblatt", s["title"]),
        Paragraph(
            f"Eingang über das Kundenportal „Rechnungen einreichen“ · an die {escape(sheet.department_name)}",
            s["subtitle"],
        ),
        label_table(
            [
                ("Kunde", _printable(sheet.customer_name)),
                ("Kundennummer", sheet.customer_id),
                *(
                    [("Geburtsdatum", f"{sheet.customer_birth_date:%d.%m.%Y}")]
                    if sheet.customer_birth_date
                    else []
                ),
                ("Verträge", ", ".join(p.policy_number for p in sheet.policies)),
                ("Eingang", sheet.submitted),
                ("Vorgang", sheet.reference),
                (
                    "Belege",
                    f"{_count(len(sheet.files), 'Datei', 'Dateien')}, {_count(pages, 'Seite', 'Seiten')}",
                ),
            ]
        ),
        Paragraph("Verträge und versicherte Personen", s["heading"]),
        _policies_table(sheet.policies),
        Paragraph("Belege", s["heading"]),
        _files_table(sheet.files),
    ]
    note = sheet.message.strip()
    story += [
        KeepTogether(
            [
                Paragraph("Nachricht des Kunden", s["heading"]),
                Paragraph(
                    "<br/>".join(escape(_printable(line)) for line in note.splitlines())
                    if note
                    else "(keine)",
                    s["statement"],
                ),
            ]
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            "Die Belege folgen im Sammel-PDF in dieser Reihenfolge, Bilder als je eine Seite; die Originaldateien "
            "hängen unverändert an (SHA-256 wie oben). Geprüft: Dateityp nach Inhalt, Lesbarkeit, kein "
            "Kennwortschutz, keine aktiven Inhalte. Maschinell erstellt.",
            s["small"],
        ),
    ]
    info = german_letter(
        "Leistungsantrag Krankenversicherung – Deckblatt",
        f"Belege, Kundennummer {sheet.customer_id}",
        insurer,
    )
    return render_document(story, insurer, info, request_footer(sheet.reference))


def _policies_table(policies: Sequence[CoverPolicy]) -> Table:
    s = house_styles()
    widths = [32 * mm, 40 * mm, CONTENT_WIDTH - 72 * mm]
    detail = 40 * mm
    head = [Paragraph(t, s["cell_head"]) for t in ("Vertrag", "Tarif / Bereich", "Versicherte Personen")]
    rows: list[list[Flowable]] = []
    for p in policies:
        persons = Table(
            [
                [
                    name_paragraph(person.full_name, s["base"], widths[2] - detail - 18),
                    Paragraph(
                        f"{person.birth_date:%d.%m.%Y} · {escape(ROLE_NAMES.get(person.role, person.role))}",
                        s["label"],
                    ),
                ]
                for person in p.persons
            ]
            or [[Paragraph("–", s["base"]), ""]],
            colWidths=[widths[2] - detail - 12, detail],
        )
        persons.setStyle(
            table_style(
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            )
        )
        rows.append(
            [
                Paragraph(f"<b>{escape(p.policy_number)}</b>", s["base"]),
                Paragraph(f"{escape(p.tariff)}<br/>Krankenbereich {escape(p.department)}", s["base"]),
                persons,
            ]
        )
    return grid_table([head, *rows], widths)


def _files_table(files: Sequence[CoverFile]) -> Table:
    s = house_styles()
    digest = ParagraphStyle("digest", s["small"], fontSize=6.6, leading=8.5)
    widths = [10 * mm, CONTENT_WIDTH - 68 * mm, 14 * mm, 26 * mm, 18 * mm]
    head = [Paragraph(t, s["cell_head"]) for t in ("Nr.", "Datei und SHA-256", "Typ", "Umfang", "Größe")]
    rows = []
    for n, f in enumerate(files, 1):
        name = escape(_printable(f.name))
        if f.original_name and f.original_name != f.name:
            was = escape(_printable(f.original_name))
            name += f"<br/><font size='7' color='#5f6b70'>eingereicht als „{was}“</font>"
        extent = _count(f.pages, "Seite", "Seiten")
        if f.width:
            extent = f"Bild {f.width}×{f.height}"
        rows.append(
            [
                Paragraph(str(n), s["base"]),
                [Paragraph(name, s["base"]), Paragraph(f.sha256, digest)],
                Paragraph(TYPE_NAMES.get(f.kind, f.kind), s["base"]),
                Paragraph(extent, s["base"]),
                Paragraph(_size(f.size), s["base"]),
            ]
        )
    return grid_table([head, *rows], widths)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _size(size: int) -> str:
    if size >= 1000 * 1000:
        return f"{size / 1e6:.1f} MB".replace(".", ",")
    return f"{max(size / 1000, 0.1):.1f} KB".replace(".", ",")


def _printable(text: str) -> str:
    """`text` with what the bundled fonts cannot draw shown as '?'."""
    missing = missing_glyphs(text)
    return "".join("?" if ch in missing else ch for ch in text) if missing else text
