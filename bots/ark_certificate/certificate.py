"""The certificate PDF of an ARK policy for one trip, in one language, on the insurer's letterhead."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
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
from reportlab.platypus import Flowable, KeepTogether, ListFlowable, ListItem, Paragraph, Spacer, Table

from bots.insurer.facts import InsuredPerson, Policy
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
    missing_glyphs,
    render_document,
    table_style,
)
from i18n import LANGUAGES, translations

if TYPE_CHECKING:
    from bots.ark_certificate.request import ArkRequest

# Babel locale per certificate language: day-month order and European conventions for English too
FORMAT_LOCALES = {"de": "de_DE", "en": "en_GB", "es": "es_ES", "fr": "fr_FR"}
# Visa Code (Regulation (EC) No 810/2009) Art. 15: at least EUR 30,000 for a Schengen visa
SCHENGEN_MINIMUM_COVER_EUR = Decimal(30000)
# What the certificate states of the cover until the tariff card states it
MINIMUM_COVER_EUR = Decimal(30000)
DEDUCTIBLE_EUR = Decimal(0)

EMERGENCY = colors.HexColor("#a4201b")
EMERGENCY_LIGHT = colors.HexColor("#fbeceb")
EMERGENCY_PHONE_SIZE = 15
EMERGENCY_PHONE_WIDTH = 62 * mm


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate."""

    certificate_number: str
    policy_number: str
    tariff_name: str
    insured_persons: tuple[InsuredPerson, ...]
    travel_start: date
    travel_end: date
    country: str
    issue_date: date
    minimum_cover_eur: Decimal = MINIMUM_COVER_EUR
    deductible_eur: Decimal = DEDUCTIBLE_EUR

    @classmethod
    def build(cls, request: ArkRequest, policy: Policy, lang: str, issue_date: date) -> CertificateData:
        """The data for `lang`'s certificate of a request whose rules have passed."""
        return cls(
            certificate_number=certificate_number(
                request.policy_number, request.travel_start, request.travel_end, request.country, lang
            ),
            policy_number=request.policy_number,
            tariff_name=policy.tariff.name,
            insured_persons=policy.insured_persons,
            travel_start=request.travel_start,
            travel_end=request.travel_end,
            country=request.country,
            issue_date=issue_date,
        )

    @property
    def trip_days(self) -> int:
        return (self.travel_end - self.travel_start).days + 1

    @property
    def meets_schengen_requirements(self) -> bool:
        return self.minimum_cover_eur >= SCHENGEN_MINIMUM_COVER_EUR and self.deductible_eur == 0


def certificate_number(
    policy_number: str, travel_start: date, travel_end: date, country: str, lang: str
) -> str:
    """Deterministic, so a retried item issues the same number; base32 avoids 0/O and 1/I mix-ups."""
    key = "|".join((policy_number, travel_start.isoformat(), travel_end.isoformat(), country, lang))
    digest = base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()
    return f"ARK-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


def certificate_filename(data: CertificateData, lang: str) -> str:
    return f"{data.certificate_number}_{lang}.pdf"


@dataclass(frozen=True)
class IssuedCertificate:
    """One rendered certificate, ready to be stored as an artifact and delivered."""

    lang: str
    filename: str
    pdf: bytes
    certificate_number: str

    media_type = "application/pdf"


def issue_certificates(
    request: ArkRequest, policy: Policy, issue_date: date, insurer: Insurer
) -> list[IssuedCertificate]:
    """One certificate per requested language, in the request's order; call after the rules passed."""
    issued = []
    for lang in request.languages:
        data = CertificateData.build(request, policy, lang, issue_date)
        issued.append(
            IssuedCertificate(
                lang=lang,
                filename=certificate_filename(data, lang),
                pdf=render_certificate(data, lang, insurer),
                certificate_number=data.certificate_number,
            )
        )
    return issued


class UnprintableName(ValueError):
    """An insured person's name has characters the certificate font cannot draw."""


def render_certificate(data: CertificateData, lang: str, insurer: Insurer) -> bytes:
    """One A4 certificate in `lang` as PDF bytes; raises UnprintableName rather than drop a letter."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported certificate language {lang!r}")
    for person in data.insured_persons:
        missing = missing_glyphs(person.full_name)
        if missing:
            raise UnprintableName(
                f"no glyph for {''.join(sorted(missing))!r} in the name of an insured person "
                f"born {person.birth_date.isoformat()}"
            )
    return _Renderer(data, lang, insurer).render()


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
    }


class _Renderer:
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
            % {"country": self.country_name, "period": self.period},
            lang=self.locale.replace("_", "-"),
            author=self.insurer.name,
        )
        number = _("Certificate number") + " " + self.data.certificate_number
        return render_document(
            self.story(), self.insurer, info, lambda page: (number, _("Page %(page)d") % {"page": page})
        )

    @property
    def country_name(self) -> str:
        return Locale.parse(self.locale).territories[self.data.country]

    @property
    def period(self) -> str:
        return f"{self.date(self.data.travel_start)} \N{EN DASH} {self.date(self.data.travel_end)}"

    def date(self, value: date, form: str = "long") -> str:
        return format_date(value, form, locale=self.locale)

    def money(self, amount: Decimal) -> str:
        """Whole euros without cents ("30.000 €", as insurers print sums insured), else with cents."""
        if amount != amount.to_integral_value():
            return format_currency(amount, "EUR", locale=self.locale)
        pattern = Locale.parse(self.locale).currency_formats["standard"].pattern
        return format_currency(
            amount, "EUR", locale=self.locale, format=pattern.replace(".00", ""), currency_digits=False
        )

    def story(self) -> list[Flowable]:
        _ = self._
        s = self.s
        return [
            letterhead(self.insurer, _("Phone")),
            Spacer(1, 5 * mm),
            Paragraph(_("Certificate of travel health insurance"), s["title"]),
            Paragraph(
                _("For presentation to consulates, visa authorities, doctors and hospitals"), s["subtitle"]
            ),
            self.emergency_box(),
            Paragraph(_("Insurance details"), s["heading"]),
            self.details_table(),
            KeepTogether([Paragraph(_("Insured persons"), s["heading"]), self.persons_table()]),
            KeepTogether(self.cover_section()),
            KeepTogether(self.closing()),
        ]

    def emergency_box(self) -> Table:
        _ = self._
        s = self.s
        padding = 8
        table = Table(
            [
                [
                    [
                        Paragraph(_("24/7 emergency assistance worldwide"), s["emergency"]),
                        Paragraph(
                            _(
                                "In a medical emergency, call us at any time of day or night. We "
                                "arrange help and settle the costs directly with the hospital."
                            ),
                            s["base"],
                        ),
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
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
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
                (_("Tariff"), d.tariff_name),
                (_("Travel period"), f"{self.period} ({days})"),
                (_("Destination"), self.country_name),
                (_("Area of cover"), _("Worldwide except Germany, including all Schengen states")),
            ]
        )

    def persons_table(self) -> Table:
        _ = self._
        s = self.s
        head = [
            Paragraph(escape(text), s["cell_head"])
            for text in (_("Surname"), _("Given names"), _("Date of birth"))
        ]
        rows = [
            [
                Paragraph(escape(person.last_name), s["value"]),
                Paragraph(escape(person.first_name), s["value"]),
                Paragraph(escape(self.date(person.birth_date, "medium")), s["base"]),
            ]
            for person in self.data.insured_persons
        ]
        widths = [62 * mm, CONTENT_WIDTH - 104 * mm, 42 * mm]
        table = Table([head, *rows], colWidths=widths, repeatRows=1)
        table.setStyle(
            table_style(
                ("BACKGROUND", (0, 0), (-1, 0), BRAND),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, BRAND_LIGHT]),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
                ("LINEBELOW", (0, -1), (-1, -1), 0.6, BRAND),
            )
        )
        return table

    def cover_section(self) -> list[Flowable]:
        _ = self._
        s = self.s
        d = self.data
        bullets = [
            _("urgent medical treatment, including medicines and dressings"),
            _("emergency hospital treatment"),
            _("repatriation for medical reasons"),
        ]
        deductible = _("none") if d.deductible_eur == 0 else self.money(d.deductible_eur)
        flowables: list[Flowable] = [
            Paragraph(_("Scope of cover"), s["heading"]),
            Paragraph(
                _(
                    "For the entire travel period stated above, the insured persons are covered by "
                    "travel health insurance, which pays in particular for:"
                ),
                s["base"],
            ),
            ListFlowable(
                [ListItem(Paragraph(escape(text), s["base"]), leftIndent=12, value="•") for text in bullets],
                bulletType="bullet",
                bulletFontName=FONT,
                bulletFontSize=9,
                leftIndent=12,
                spaceBefore=2,
                spaceAfter=4,
            ),
            label_table(
                [
                    (
                        _("Cover per insured person"),
                        _("at least %(amount)s") % {"amount": self.money(d.minimum_cover_eur)},
                    ),
                    (_("Deductible"), deductible),
                ]
            ),
            Spacer(1, 5),
        ]
        if d.meets_schengen_requirements:
            schengen = _(
                "This insurance meets the requirements of Article 15 of the Visa Code "
                "(Regulation (EC) No 810/2009). It is valid in all Schengen states for the "
                "entire stay, covers medical treatment, emergency hospital treatment and "
                "repatriation for medical reasons with a minimum cover of %(amount)s, and "
                "has no deductible."
            ) % {"amount": self.money(SCHENGEN_MINIMUM_COVER_EUR)}
            flowables += [self.statement(_("Schengen visa:"), schengen), Spacer(1, 3)]
        settlement = _(
            "Doctors and hospitals may send their invoices directly to us; we settle "
            "them with the provider. Before admission to hospital, please call our "
            "emergency number."
        )
        flowables.append(self.statement(_("Direct settlement:"), settlement))
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
            Spacer(1, 8),
            label_table([(_("Place and date of issue"), place_date), (_("Insurer"), self.insurer.name)]),
            Spacer(1, 4),
            Paragraph(
                escape(_("This certificate was issued automatically and is valid without signature.")),
                self.s["small"],
            ),
        ]
