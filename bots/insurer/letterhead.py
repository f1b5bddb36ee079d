"""The insurer's letterhead: identity, fonts, colours, styles and the A4 page frame of every document
it sends (certificates, letters, cover sheets)."""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

if TYPE_CHECKING:
    from bots.insurer.settings import InsurerSettings

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
MARGIN_X = 20 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN_X
LABEL_WIDTH = 58 * mm

BRAND = colors.HexColor("#0b5563")
BRAND_LIGHT = colors.HexColor("#e7f0f1")
GREY = colors.HexColor("#5f6b70")
RULE = colors.HexColor("#c5d3d5")


@dataclass(frozen=True)
class Insurer:
    """Who sends the document and how to reach them."""

    name: str
    street: str
    city: str
    phone: str
    emergency_phone: str
    email: str
    website: str
    place_of_issue: str
    logo_png: bytes | None = None


def default_insurer() -> Insurer:
    """A clearly fictional insurer for the sandbox and the demo."""
    return Insurer(
        name="Beispiel Krankenversicherung AG",
        street="Musterallee 1",
        city="50667 Köln, Deutschland",
        phone="+49 221 555 0100",
        emergency_phone="+49 221 555 0199",
        email="service@beispiel-kv.example",
        website="www.beispiel-kv.example",
        place_of_issue="Köln",
    )


def insurer_from_settings(settings: InsurerSettings) -> Insurer:
    """The insurer as configured; every unset field keeps the fictional default."""
    fallback = default_insurer()
    fields = ("name", "street", "city", "phone", "emergency_phone", "email", "website", "place_of_issue")
    values = {f: getattr(settings, f"insurer_{f}") or getattr(fallback, f) for f in fields}
    logo = settings.insurer_logo_path
    return Insurer(**values, logo_png=Path(logo).read_bytes() if logo else None)


@cache
def register_fonts() -> None:
    """Make the bundled DejaVu fonts known to reportlab (once per process)."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def missing_glyphs(text: str) -> set[str]:
    """Characters of `text` that the bundled fonts (regular or bold) cannot draw."""
    register_fonts()
    missing = set()
    for font in (FONT, FONT_BOLD):
        glyphs = pdfmetrics.getFont(font).face.charToGlyph
        missing |= {char for char in text if not char.isspace() and ord(char) not in glyphs}
    return missing


def name_paragraph(name: str, style: ParagraphStyle, width: float) -> Paragraph:
    """A person's name set to fit `width`: composed (NFC), wrapped only between words, never at a hyphen or
    inside a word ("Sigmaringen-/Brandenburg" reads as two names), and smaller when one word is wider."""
    text = " ".join(unicodedata.normalize("NFC", name).split())
    words = text.split()
    widest = max((pdfmetrics.stringWidth(word, style.fontName, style.fontSize) for word in words), default=0)
    size = style.fontSize
    if widest > width:
        size = style.fontSize * width / widest * 0.99  # a hair below, against rounding in reportlab's wrap
    # splitLongWords=0: reportlab would otherwise cut a word too long for the line, at a hyphen or anywhere
    leading = style.leading * size / style.fontSize
    fitted = ParagraphStyle(f"{style.name}-name", style, fontSize=size, leading=leading, splitLongWords=0)
    return Paragraph(escape(text), fitted)


@cache
def house_styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of every document (shared: derive a new style rather than change one)."""
    register_fonts()  # the styles name the fonts; a paragraph resolves them when it is made
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", base, fontSize=7.5, leading=10, textColor=GREY),
        "insurer": ParagraphStyle("insurer", base, fontSize=8, leading=10.5, alignment=TA_RIGHT),
        "title": ParagraphStyle(
            "title", base, fontName=FONT_BOLD, fontSize=16, leading=20, textColor=BRAND, spaceAfter=1
        ),
        "subtitle": ParagraphStyle("subtitle", base, textColor=GREY, spaceAfter=7),
        "heading": ParagraphStyle(
            "heading",
            base,
            fontName=FONT_BOLD,
            fontSize=10.5,
            leading=13,
            textColor=BRAND,
            spaceBefore=7,
            spaceAfter=2,
        ),
        "label": ParagraphStyle("label", base, textColor=GREY),
        "value": ParagraphStyle("value", base, fontName=FONT_BOLD),
        "cell_head": ParagraphStyle("cell_head", base, fontName=FONT_BOLD, textColor=colors.white),
        "statement": ParagraphStyle("statement", base, leading=12.5),
    }


def table_style(*commands: tuple[object, ...]) -> TableStyle:
    # a table sets its own font even around Paragraph cells; keep it ours
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def letterhead(insurer: Insurer, phone_label: str) -> Table:
    """The logo on the left, the insurer's address on the right, a brand rule below."""
    lines = [
        f"<b>{escape(insurer.name)}</b>",
        escape(insurer.street),
        escape(insurer.city),
        f"{escape(phone_label)} {escape(insurer.phone)}",
        escape(insurer.email),
    ]
    table = Table(
        [[logo(insurer), Paragraph("<br/>".join(lines), house_styles()["insurer"])]],
        colWidths=[CONTENT_WIDTH - 75 * mm, 75 * mm],
    )
    table.setStyle(
        table_style(
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("LINEBELOW", (0, 0), (-1, 0), 1.2, BRAND),
            ("BOTTOMPADDING", (0, 0), (-1, 0), 6),
        )
    )
    return table


def logo(insurer: Insurer) -> Flowable:
    if insurer.logo_png:
        image = Image(io.BytesIO(insurer.logo_png))
        scale = 16 * mm / image.imageHeight
        image.drawHeight = 16 * mm
        image.drawWidth = image.imageWidth * scale
        image.hAlign = "LEFT"
        return image
    return GeneratedLogo(insurer.name)


def grid_table(rows: Sequence[Sequence[object]], widths: Sequence[float]) -> Table:
    """A table of a letter: the first row a header on the brand colour (repeated on a new page), the rows
    banded, a thin rule under each."""
    table = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=1)
    table.setStyle(
        table_style(
            ("BACKGROUND", (0, 0), (-1, 0), BRAND),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, BRAND_LIGHT]),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        )
    )
    return table


def label_table(rows: Sequence[tuple[str, str]], label_width: float = LABEL_WIDTH) -> Table:
    """Label on the left in grey, value on the right in bold, a thin rule under each row."""
    s = house_styles()
    table = Table(
        [
            [Paragraph(escape(label), s["label"]), Paragraph(escape(value), s["value"])]
            for label, value in rows
        ],
        colWidths=[label_width, CONTENT_WIDTH - label_width],
    )
    table.setStyle(
        table_style(
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        )
    )
    return table


@dataclass(frozen=True)
class DocumentInfo:
    """The PDF's metadata: shown by viewers and read by screen readers."""

    title: str
    subject: str
    lang: str  # BCP 47, e.g. "de-DE"
    author: str


FooterLines = Callable[[int, int], Sequence[str]]
"""(page number, page count) -> up to two lines printed at the right of the footer (a document number, the
page as "page 2 of 3" in the document's language)."""


def request_footer(reference: str) -> FooterLines:
    """The footer of a German letter about one request: its reference, then "Seite 1 von 2"."""
    return lambda page, count: [f"Vorgang {reference}", f"Seite {page} von {count}"]


def german_letter(title: str, subject: str, insurer: Insurer) -> DocumentInfo:
    """The metadata of a German letter to a customer or a department."""
    return DocumentInfo(title=title, subject=subject, lang="de-DE", author=insurer.name)


def render_document(
    story: list[Flowable], insurer: Insurer, info: DocumentInfo, footer_right: FooterLines
) -> bytes:
    """An A4 PDF of `story` in the insurer's page frame, the same bytes for the same input."""
    return render_pages(story, insurer, info, footer_right)[0]


def render_pages(
    story: list[Flowable], insurer: Insurer, info: DocumentInfo, footer_right: FooterLines
) -> tuple[bytes, int]:
    """render_document, and how many pages it took (a layout may choose another arrangement then).

    One document at a time per process: reportlab's embedded TrueType fonts keep their subsetting state in the
    shared font object, so two threads rendering at once (a worker's threads pool) corrupt each other's
    subsets (an IndexError in makeSubset). Rendering holds the GIL anyway; the lock costs no parallelism."""
    with _RENDERING:
        return _render_pages(story, insurer, info, footer_right)


_RENDERING = threading.Lock()


def _render_pages(
    story: list[Flowable], insurer: Insurer, info: DocumentInfo, footer_right: FooterLines
) -> tuple[bytes, int]:
    register_fonts()
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=12 * mm,
        bottomMargin=21 * mm,
        # no timestamp or random id: a retried item yields the very same bytes (content-addressed)
        invariant=True,
        displayDocTitle=True,
        # else every page references Helvetica, a font without Ł, Ş or ő
        initialFontName=FONT,
        title=info.title,
        author=info.author,
        subject=info.subject,
        creator="PortalBots",
        lang=info.lang,
    )
    # a frame without padding, so paragraphs and tables share one left edge
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )

    pages: list[int] = []

    def footer(canvas: Canvas, page: int, count: int) -> None:
        pages[:] = [count]
        draw_footer(canvas, insurer, footer_right(page, count))

    doc.addPageTemplates([PageTemplate("letterhead", frames=[frame])])
    doc.build(story, canvasmaker=partial(_CountingCanvas, footer=footer))
    return out.getvalue(), pages[0]


class _CountingCanvas(Canvas):  # type: ignore[misc]  # reportlab carries no types
    """Holds each finished page back until the last, so every footer can name the page count."""

    def __init__(self, *args: object, footer: Callable[[Canvas, int, int], None], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, object]] = []

    def showPage(self) -> None:  # reportlab calls it at the end of each page
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(self, self._pageNumber, len(self._pages))
            super().showPage()
        super().save()


def draw_footer(canvas: Canvas, insurer: Insurer, right: Sequence[str]) -> None:
    """The insurer's address and contacts on the left, `right` (up to two lines) on the right."""
    width, _height = A4
    canvas.saveState()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_X, 16 * mm, width - MARGIN_X, 16 * mm)
    canvas.setFont(FONT, 7)
    canvas.setFillColor(GREY)
    canvas.drawString(MARGIN_X, 12 * mm, f"{insurer.name} · {insurer.street} · {insurer.city}")
    canvas.drawString(MARGIN_X, 8.5 * mm, f"{insurer.phone} · {insurer.email} · {insurer.website}")
    for line, y in zip(right, (12 * mm, 8.5 * mm), strict=False):
        canvas.drawRightString(width - MARGIN_X, y, line)
    canvas.restoreState()


class GeneratedLogo(Flowable):  # type: ignore[misc]  # reportlab carries no types
    """A plain cross-in-a-square mark beside the insurer's name, for insurers without a logo file."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.size = 14 * mm
        self.width = 90 * mm
        self.height = self.size

    def draw(self) -> None:
        # drawn on the canvas directly: a reportlab Drawing would reference Helvetica
        canvas = self.canv
        canvas.setFillColor(BRAND)
        canvas.roundRect(0, 0, self.size, self.size, 2.5 * mm, stroke=0, fill=1)
        bar, arm = self.size * 0.2, self.size * 0.6
        offset = (self.size - arm) / 2
        middle = (self.size - bar) / 2
        canvas.setFillColor(colors.white)
        canvas.rect(offset, middle, arm, bar, stroke=0, fill=1)
        canvas.rect(middle, offset, bar, arm, stroke=0, fill=1)
        words = self.name.split()
        first, rest = " ".join(words[:1]), " ".join(words[1:])
        canvas.setFillColor(BRAND)
        canvas.setFont(FONT_BOLD, 13)
        canvas.drawString(self.size + 3 * mm, self.size - 6 * mm, first)
        canvas.setFont(FONT, 9)
        canvas.setFillColor(GREY)
        canvas.drawString(self.size + 3 * mm, 1.5 * mm, rest)
