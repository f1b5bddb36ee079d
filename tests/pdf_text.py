"""What a PDF says, as pypdf extracts it: pages with whitespace normalised, and the text of each drawn cell."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pages_text(pdf: bytes) -> list[str]:
    # pypdf may break a line anywhere; compare with whitespace normalised
    return [
        re.sub(r"\s+", " ", page.extract_text().replace("\u00a0", " ").replace("\u202f", " "))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def text_of(pdf: bytes) -> str:
    return " ".join(pages_text(pdf))


def cells(pdf: bytes) -> list[tuple[str, float]]:
    """The text of every table cell and paragraph as drawn, with its font size: reportlab draws a cell's
    lines one after another at one x, so consecutive lines at the same x are one cell."""
    found: list[tuple[float, list[str], float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if not text.strip():
            return
        x = round(tm[4] * cm[0] + tm[5] * cm[2] + cm[4], 1)
        if found and found[-1][0] == x:
            found[-1][1].append(text)
        else:
            found.append((x, [text], size))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
        found.append((-1.0, [], 0))  # a page ends every cell
    return [(" ".join(" ".join(lines).split()), size) for _x, lines, size in found if lines]
