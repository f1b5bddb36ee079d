"""The ARK certificate laid out in one language on the insurer's letterhead.

Up to FIRST_PAGE_PERSONS insured persons fit on one page with the cover statements and the issue block;
with more, the first page lists that many and says so, and the second page names the certificate,
repeats the table's header, lists the rest and then the cover statements and the issue block, always
together. Should names be so long that even FIRST_PAGE_PERSONS or fewer persons do not fit on one page,
the last person moves to the second page the same way: the cover statements never stand there alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
)

from bots.insurer.areas import INSURER_HOME, Area
from bots.insurer.facts import InsuredPerson
from bots.insurer.letterhead import (
    BRAND,
    BRAND_LIGHT,
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    DocumentInfo,
    Insurer,
    house_styles,
    label_table,
    letterhead,
    name_paragraph,
    render_pages,
    table_style,
)
from i18n import translations

if TYPE_CHECKING:
    from bots.ark_certificate.certificate import CertificateData

# Babel locale per certificate language: day-month order and European conventions for English too
FORMAT_LOCALES = {"de": "de_DE", "en": "en_GB", "es": "es_ES", "fr": "fr_FR"}
FIRST_PAGE_PERSONS = 8

EMERGENCY = colors.HexColor("#a4201b")
EMERGENCY_LIGHT = colors.HexColor("#fbeceb")
EMERGENCY_PHONE_SIZE = 15
EMERGENCY_PHONE_WIDTH = 54 * mm
CELL_PADDING = 6  # left and right in the persons table
TITLE_MIN_SIZE = 13.0
# a name column gives a word at least this share of its size before the other column wraps more
MIN_NAME_SCALE = 0.8


def _(message: str) -> str:
    """Marks a msgid for extraction where it is only looked up later (pybabel finds `_("…")`)."""
    return message


AREA_NAMES = {
    Area.WORLD_EXCEPT_DE: _("Worldwide except Germany"),
    Area.EUROPE: _("Europe except Germany"),
}


def _styles() -> dict[str, ParagraphStyle]:
    base = house_styles()["base"]
    return {
        **house_styles(),
        "emergency": ParagraphStyle(
            "emergency", base, fontName=FONT_BOLD, fontSize=10, leading=13, textColor=EMERGENCY, spaceAfter=1
        ),
        "emergency_label": ParagraphStyle(
            "emergency_label", base, fontSize=7.5, leading=10, textColor=EMERGENCY, alignment=TA_RIGHT
        ),
        "emergency_phone": ParagraphStyle(
            "emergency_phone",
            base,
            fontName=FONT_BOLD,
            fontSize=EMERGENCY_PHONE_SIZE,
            leading=EMERGENCY_PHONE_SIZE * 1.25,
            textColor=EMERGENCY,
            alignment=TA_RIGHT,
        ),
        "continued": ParagraphStyle("continued", house_styles()["small"], alignment=TA_RIGHT, spaceBefore=3),
    }


def _line_count(text: str, style: ParagraphStyle, width: float) -> int:
    """How many lines `text` takes in `width`, wrapped between words (as name_paragraph sets it)."""
    space = pdfmetrics.stringWidth(" ", style.fontName, style.fontSize)
    count, used = 1, 0.0
    for word in text.split():
        size = pdfmetrics.stringWidth(word, style.fontName, style.fontSize)
        if used and used + space + size > width:
            count, used = count + 1, size
        else:
            used += (space if used else 0) + size
    return count


def _frange(start: float, stop: float, step: float) -> list[float]:
    return [start + n * step for n in range(int((stop - start) / step) + 1)] + [stop]


class CertificateLayout:
    """Builds the flowables of one certificate; `_` is the language's gettext."""

    def __init__(self, data: CertificateData, lang: str, insurer: Insurer) -> None:
        self.data = data
        self.lang = lang
        self.insurer = insurer
        self.locale = FORMAT_LOCALES[lang]
        catalog = translations(lang)
        self._: Callable[[str], str] = catalog.gettext
        self.ngettext: Callable[[str, str, int], str] = catalog.ngettext
        self.s = _styles()

    def render(self) -> bytes:
        _ = self._
        info = DocumentInfo(
            title=_("Certificate of travel health insurance") + " " + self.data.certificate_number,
            subject=_("Travel health insurance, destination %(country)s, %(period)s")
            % {"country": self.country_name(self.data.country), "period": self.period},
            lang=self.locale.replace("_", "-"),
            author=self.insurer.name,
        )
        number = _("Certificate number") + " " + self.data.certificate_number

        def footer(page: int, pages: int) -> tuple[str, str]:
            return number, _("Page %(page)d of %(pages)d") % {"page": page, "pages": pages}

        pdf, pages = render_pages(self.story(FIRST_PAGE_PERSONS), self.insurer, info, footer)
        persons = len(self.data.insured_persons)
        if pages > 1 and 1 < persons <= FIRST_PAGE_PERSONS:
            # names so long that the cover statements would stand alone on page 2: the last person goes
            # there with them, under the repeated header, as with more than FIRST_PAGE_PERSONS
            pdf, pages = render_pages(self.story(persons - 1), self.insurer, info, footer)
        return pdf

    # -- words ---------------------------------------------------------------------------------

    def country_name(self, code: str) -> str:
        return str(Locale.parse(self.locale).territories[code])

    @property
    def period(self) -> str:
        return f"{self.date(self.data.travel_start)} \N{EN DASH} {self.date(self.data.travel_end)}"

    def date(self, value: date, form: str = "long") -> str:
        text = format_date(value, form, locale=self.locale)
        if self.lang == "fr" and value.day == 1:
            # French writes the first of a month as an ordinal ("1er mars"); CLDR has no such pattern
            text = re.sub(r"^1(?=\s)", "1er", text)
        return text

    def money(self, amount: Decimal) -> str:
        """Whole euros without cents ("30.000 €", as insurers print sums insured), else with cents."""
        if amount != amount.to_integral_value():
            return format_currency(amount, "EUR", locale=self.locale)
        pattern = Locale.parse(self.locale).currency_formats["standard"].pattern
        return format_currency(
            amount, "EUR", locale=self.locale, format=pattern.replace(".00", ""), currency_digits=False
        )

    def area(self) -> str:
        _ = self._
        text = _(AREA_NAMES[Area(self.data.cover.area)])
        if self.data.residence != INSURER_HOME:
            text = _("%(area)s; excluding the country of residence: %(country)s") % {
                "area": text,
                "country": self.country_name(self.data.residence),
            }
        return text

    # -- blocks --------------------------------------------------------------------------------

    def story(self, first_page: int) -> list[Flowable]:
        """The certificate with at most `first_page` persons on the first page."""
        _ = self._
        s = self.s
        persons = self.data.insured_persons
        widths = self.person_columns()
        head: list[Flowable] = [
            letterhead(self.insurer, _("Phone")),
            Spacer(1, 4 * mm),
            self.title(_("Certificate of travel health insurance")),
            Paragraph(
                escape(_("For presentation to consulates, border authorities, doctors and hospitals")),
                s["subtitle"],
            ),
            self.emergency_box(),
            Paragraph(escape(_("Insurance details")), s["heading"]),
            self.details_table(),
            Paragraph(escape(_("Insured persons")), s["heading"]),
        ]
        end = KeepTogether([*self.cover_section(), *self.closing()])
        if len(persons) <= first_page:
            return [*head, self.persons_table(persons, widths), end]
        return [
            *head,
            self.persons_table(persons[:first_page], widths),
            Paragraph(escape(_("Continued on the next page")), s["continued"]),
            PageBreak(),
            # a loose second page still says what it belongs to
            Paragraph(
                escape(f"{_('Certificate of travel health insurance')} · {self.data.certificate_number}"),
                s["small"],
            ),
            Paragraph(escape(_("Insured persons (continued)")), s["heading"]),
            self.persons_table(persons[first_page:], widths),
            end,
        ]

    def title(self, text: str) -> Paragraph:
        """The title on one line if a slightly smaller size allows, else wrapped between words."""
        style = self.s["title"]
        natural = pdfmetrics.stringWidth(text, style.fontName, style.fontSize)
        size = max(TITLE_MIN_SIZE, min(style.fontSize, style.fontSize * CONTENT_WIDTH / natural * 0.99))
        fitted = ParagraphStyle(
            "title-fit", style, fontSize=size, leading=style.leading * size / style.fontSize
        )
        fitted.splitLongWords = 0
        return Paragraph(escape(text), fitted)

    def emergency_box(self) -> Table:
        _ = self._
        s = self.s
        padding = 8
        if self.data.cover.direct_settlement:
            text = _(
                "In a medical emergency, call us at any time of day or night. We arrange help and settle "
                "the costs directly with the hospital."
            )
        else:
            text = _("In a medical emergency, call us at any time of day or night. We arrange help.")
        table = Table(
            [
                [
                    [
                        Paragraph(escape(_("24/7 emergency assistance")), s["emergency"]),
                        Paragraph(escape(text), s["base"]),
                    ],
                    [
                        Paragraph(escape(_("Emergency number (24/7)")), s["emergency_label"]),
                        self.phone(self.insurer.emergency_phone, EMERGENCY_PHONE_WIDTH - 2 * padding),
                    ],
                ]
            ],
            colWidths=[CONTENT_WIDTH - EMERGENCY_PHONE_WIDTH, EMERGENCY_PHONE_WIDTH],
        )
        table.setStyle(
            table_style(
                ("BACKGROUND", (0, 0), (-1, -1), EMERGENCY_LIGHT),
                ("LINEBEFORE", (0, 0), (0, 0), 3, EMERGENCY),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), padding),
                ("RIGHTPADDING", (0, 0), (-1, -1), padding),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            )
        )
        return table

    def phone(self, number: str, width: float) -> Paragraph:
        """The number on one line: a number broken over two lines gets misdialled."""
        size = EMERGENCY_PHONE_SIZE
        natural = pdfmetrics.stringWidth(number, FONT_BOLD, size)
        if natural > width:
            size = max(9.0, size * width / natural)
        style = ParagraphStyle("phone", self.s["emergency_phone"], fontSize=size, leading=size * 1.25)
        return Paragraph(escape(number), style)

    def details_table(self) -> Table:
        _ = self._
        d = self.data
        days = self.ngettext("%(days)d day", "%(days)d days", d.trip_days) % {"days": d.trip_days}
        return label_table(
            [
                (_("Certificate number"), d.certificate_number),
                (_("Policy number"), d.policy_number),
                (_("Plan"), d.tariff_name),
                (_("Travel period"), f"{self.period} ({days})"),
                (_("Destination"), self.country_name(d.country)),
                (_("Area of cover"), self.area()),
            ]
        )

    def person_columns(self) -> tuple[float, float, float]:
        """Surname, given names, birth date: the date column as wide as it needs, the names share the rest.

        When the names fit on one line each, the spare width is shared equally; else the columns are split
        so that no word shrinks if possible and the table is shortest. Headers are set like names:
        wrapped between words only.
        """
        _ = self._
        s = self.s
        persons = self.data.insured_persons

        def widest(texts: Sequence[str], style: ParagraphStyle) -> float:
            return max((pdfmetrics.stringWidth(t, style.fontName, style.fontSize) for t in texts), default=0)

        head = s["cell_head"]
        dates = widest([self.date(p.birth_date, "medium") for p in persons], s["base"])
        columns = (
            ([p.last_name for p in persons], _("Surname")),
            ([p.first_name for p in persons], _("Given names")),
        )
        line = [
            max(widest(names, s["value"]), widest([title], head)) + 2 * CELL_PADDING
            for names, title in columns
        ]
        # the date header on one line when the names leave room, else wrapped: the dates set the width
        date_column = max(dates, widest([_("Date of birth")], head)) + 2 * CELL_PADDING + 2
        if sum(line) + date_column > CONTENT_WIDTH:
            date_column = max(dates, widest(_("Date of birth").split(), head)) + 2 * CELL_PADDING + 2
        rest = CONTENT_WIDTH - date_column
        word = [
            max(widest([w for n in names for w in n.split()], s["value"]), widest(title.split(), head))
            + 2 * CELL_PADDING
            for names, title in columns
        ]
        if sum(line) <= rest:
            extra = (rest - sum(line)) / 2
            return line[0] + extra, line[1] + extra, date_column
        # Otherwise the split that shrinks no word if it can (else keeps every word at MIN_NAME_SCALE or
        # more if it can, else shrinks least), then has the fewest lines, then is nearest the names' shares.
        value = s["value"]

        def scale(width: float) -> float:
            return float(min(1.0, (width - 2 * CELL_PADDING) / (word[0] - 2 * CELL_PADDING),
                             (rest - width - 2 * CELL_PADDING) / (word[1] - 2 * CELL_PADDING)))  # fmt: skip

        def lines(width: float) -> int:
            return sum(
                max(_line_count(p.last_name, value, width - 2 * CELL_PADDING),
                    _line_count(p.first_name, value, rest - width - 2 * CELL_PADDING))
                for p in persons
            )  # fmt: skip

        def rank(width: float) -> tuple[float, int, float]:
            fits = scale(width)
            return -(1.0 if fits >= 1.0 else min(fits, MIN_NAME_SCALE)), lines(width), abs(width - even)

        even = rest * line[0] / sum(line)
        margin = 2 * CELL_PADDING + 10
        best = min(_frange(margin, rest - margin, mm), key=rank)
        return best, rest - best, date_column

    def persons_table(self, persons: Sequence[InsuredPerson], widths: tuple[float, float, float]) -> Table:
        _ = self._
        s = self.s
        head = [
            name_paragraph(text, s["cell_head"], width - 2 * CELL_PADDING)
            for text, width in zip((_("Surname"), _("Given names"), _("Date of birth")), widths, strict=True)
        ]
        inner = [w - 2 * CELL_PADDING for w in widths]
        rows = [
            [
                name_paragraph(person.last_name, s["value"], inner[0]),
                name_paragraph(person.first_name, s["value"], inner[1]),
                Paragraph(escape(self.date(person.birth_date, "medium")), s["base"]),
            ]
            for person in persons
        ]
        table = Table([head, *rows], colWidths=list(widths), repeatRows=1)
        table.setStyle(
            table_style(
                ("BACKGROUND", (0, 0), (-1, 0), BRAND),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, BRAND_LIGHT]),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
                ("LINEBELOW", (0, -1), (-1, -1), 0.6, BRAND),
            )
        )
        return table

    def cover_section(self) -> list[Flowable]:
        """Only what the tariff card states: the services it covers, the sum insured, the deductible."""
        _ = self._
        s = self.s
        cover = self.data.cover
        services = [
            (cover.urgent_treatment, _("urgent medical treatment, including medicines and dressings")),
            (cover.hospital, _("emergency hospital treatment")),
            (cover.repatriation, _("medically necessary repatriation")),
            (cover.repatriation_of_remains, _("repatriation of mortal remains")),
        ]
        covered = [text for given, text in services if given]
        if cover.sum_insured_eur is None:
            # Translators: the sum insured per person, which has no limit
            sum_insured = _("unlimited")
        else:
            sum_insured = self.money(cover.sum_insured_eur)
        # Translators: the deductible, when there is none
        deductible = _("none") if cover.deductible_eur == 0 else self.money(cover.deductible_eur)
        flowables: list[Flowable] = [
            Paragraph(escape(_("Scope of cover")), s["heading"]),
            Paragraph(
                escape(
                    _(
                        "The persons named in this certificate are covered by travel health insurance for the "
                        "entire travel period. The plan includes:"
                    )
                ),
                s["base"],
            ),
        ]
        if covered:
            flowables.append(
                ListFlowable(
                    [
                        ListItem(Paragraph(escape(text), s["base"]), leftIndent=12, value="•")
                        for text in covered
                    ],
                    bulletType="bullet",
                    bulletFontName=FONT,
                    bulletFontSize=9,
                    leftIndent=12,
                    spaceBefore=1,
                    spaceAfter=3,
                )
            )
        flowables += [
            label_table(
                [
                    (_("Sum insured per person"), sum_insured),
                    (_("Deductible"), deductible),
                ]
            ),
        ]
        if cover.direct_settlement:
            settlement = _(
                "Doctors and hospitals may send their invoices to us; we pay the provider directly. Before "
                "admission to hospital, please call our emergency number."
            )
            flowables += [Spacer(1, 4), self.statement(_("Direct settlement:"), settlement)]
        return flowables

    def statement(self, label: str, text: str) -> Paragraph:
        return Paragraph(f"<b>{escape(label)}</b> {escape(text)}", self.s["statement"])

    def closing(self) -> list[Flowable]:
        _ = self._
        d = self.data
        place_date = _("%(place)s, %(date)s") % {
            "place": self.insurer.place_of_issue,
            "date": self.date(d.issue_date),
        }
        return [
            Spacer(1, 7),
            label_table([(_("Place and date of issue"), place_date), (_("Insurer"), self.insurer.name)]),
            Spacer(1, 3),
            Paragraph(
                escape(_("This certificate was issued automatically and is valid without a signature.")),
                self.s["small"],
            ),
        ]
