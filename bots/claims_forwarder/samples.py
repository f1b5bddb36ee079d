"""Invented receipts for the demo and the benchmark: a doctor's invoice as a PDF, a pharmacy receipt as a
photo (JPEG) and as a screenshot (PNG). No real person, practice or amount."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bots.insurer.letterhead import FONT, FONT_BOLD, register_fonts


def invoice_pdf(patient: str, pages: int = 2, number: int = 1) -> bytes:
    """A doctor's invoice (GOÄ style) of `pages` pages."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, initialFontName=FONT)
    for page in range(1, pages + 1):
        canvas.setFont(FONT_BOLD, 14)
        canvas.drawString(60, 780, "Praxis Dr. med. Beispiel · Allgemeinmedizin")
        canvas.setFont(FONT, 10)
        canvas.drawString(60, 760, "Musterweg 5, 50667 Köln")
        canvas.drawString(60, 720, f"Rechnung Nr. 2026-{number:04d} für {patient}")
        for row in range(12):
            y = 680 - row * 22
            canvas.drawString(60, y, f"GOÄ {1 + row * 3:>4}  Beratung und Untersuchung, Position {row + 1}")
            canvas.drawRightString(530, y, f"{10.72 + row * 3.5:.2f} €".replace(".", ","))
        canvas.drawRightString(530, 100, f"Seite {page} von {pages}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def receipt_image(
    kind: str = "jpeg", size: tuple[int, int] = (900, 1300), label: str = "Apotheke am Markt"
) -> bytes:
    """A pharmacy receipt drawn as a photo ("jpeg") or screenshot ("png")."""
    image = Image.new("RGB", size, (248, 246, 240))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([w * 0.08, h * 0.05, w * 0.92, h * 0.95], outline=(60, 60, 60), width=3)
    draw.text((w * 0.15, h * 0.09), label, fill=(20, 20, 20))
    for row in range(14):
        y = h * 0.16 + row * h * 0.045
        draw.line([w * 0.15, y, w * 0.85, y], fill=(190, 190, 190), width=1)
        draw.text((w * 0.15, y + 4), f"Artikel {row + 1}  PZN 0{1234560 + row}", fill=(40, 40, 40))
        draw.text((w * 0.72, y + 4), f"{4.95 + row:.2f} EUR", fill=(40, 40, 40))
    draw.text((w * 0.15, h * 0.86), "Summe  153,30 EUR", fill=(0, 0, 0))
    out = io.BytesIO()
    if kind == "png":
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    """A file cut off half-way, as an interrupted upload leaves it."""
    return data[: len(data) // 2]
