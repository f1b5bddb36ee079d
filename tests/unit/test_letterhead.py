"""The letterhead's typesetting of names and its page frame: names never break, every page counts the pages."""

from __future__ import annotations

import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import PageBreak, Paragraph

from bots.insurer.letterhead import (
    DocumentInfo,
    default_insurer,
    house_styles,
    name_paragraph,
    render_document,
)
from tests.pdf_text import pages_text

NAME = "Anna Sigmaringen-Brandenburg"


def lines(paragraph: Paragraph, width: float) -> list[str]:
    paragraph.wrap(width, 1000)
    return [" ".join(getattr(word, "text", word) for word in line[1]) for line in paragraph.blPara.lines]


def width_of(text: str) -> float:
    style = house_styles()["value"]
    return pdfmetrics.stringWidth(text, style.fontName, style.fontSize)


def test_a_name_wraps_between_words_never_at_a_hyphen() -> None:
    style = house_styles()["value"]
    # room for "Anna Sigmaringen-" and for the long word, not for the whole name: it breaks at the space
    width = width_of("Sigmaringen-Brandenburg") + 2
    assert width_of("Anna Sigmaringen-") < width < width_of(NAME)
    paragraph = name_paragraph(NAME, style, width)
    assert lines(paragraph, width) == ["Anna", "Sigmaringen-Brandenburg"]
    assert paragraph.style.fontSize == style.fontSize


def test_a_word_wider_than_the_column_shrinks_instead_of_breaking() -> None:
    style = house_styles()["value"]
    width = width_of("Sigmaringen-Brandenburg") * 0.7
    paragraph = name_paragraph(NAME, style, width)
    assert lines(paragraph, width) == ["Anna", "Sigmaringen-Brandenburg"]
    assert paragraph.style.fontSize < style.fontSize * 0.71


def test_a_name_is_composed_before_it_is_set() -> None:
    decomposed = unicodedata.normalize("NFD", "Chloé Núñez")
    paragraph = name_paragraph(decomposed, house_styles()["value"], 200)
    assert lines(paragraph, 200) == [unicodedata.normalize("NFC", "Chloé Núñez")]


def three_pages() -> bytes:
    style = house_styles()["base"]
    story = [
        Paragraph("eins", style),
        PageBreak(),
        Paragraph("zwei", style),
        PageBreak(),
        Paragraph("drei", style),
    ]
    info = DocumentInfo("Test", "Test", "de-DE", "Beispiel")
    return render_document(
        story, default_insurer(), info, lambda page, pages: ("Nr. 1", f"Seite {page} von {pages}")
    )


def test_every_page_says_which_of_how_many() -> None:
    pdf = three_pages()
    texts = pages_text(pdf)
    assert len(texts) == 3
    for number, text in enumerate(texts, 1):
        assert f"Seite {number} von 3" in text and "Nr. 1" in text and default_insurer().name in text
    assert pdf == three_pages()  # the same bytes for the same input, counting or not


def many_glyphs(n: int) -> bytes:
    """A document whose font subset differs by `n` (each thread embeds other glyphs)."""
    style = house_styles()["base"]
    text = " ".join(
        chr(c)
        for c in range(0x100 + n * 40, 0x100 + n * 40 + 40)
        if pdfmetrics.stringWidth(chr(c), style.fontName, 9)
    )
    story = [Paragraph(f"Dokument {n}: {text} Łucja Öztürk-Şahin", style) for _ in range(30)]
    info = DocumentInfo("Test", "Test", "de-DE", "Beispiel")
    return render_document(story, default_insurer(), info, lambda page, pages: (f"Seite {page} von {pages}",))


def test_documents_rendered_by_several_threads_at_once_are_each_whole() -> None:
    """A worker's threads pool renders letters and certificates at the same time: the shared font objects must
    not mix their subsets (without the render lock: IndexError in reportlab's makeSubset, or wrong glyphs)."""
    alone = {n: many_glyphs(n) for n in range(6)}
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, as under load
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(5):
                together = dict(zip(alone, pool.map(many_glyphs, alone), strict=True))
                assert together == alone
    finally:
        sys.setswitchinterval(interval)
