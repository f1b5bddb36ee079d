"""Real receipt files for the claims forwarder's tests, made here: sound ones and every kind of bad one."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas


def pdf(pages: int = 3, title: str = "Rechnung") -> bytes:
    """A multi-page invoice."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    for page in range(1, pages + 1):
        canvas.drawString(72, 760, f"{title} – Praxis Dr. Beispiel – Seite {page} von {pages}")
        canvas.rect(72, 400, 300, 200)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def jpeg(size: tuple[int, int] = (640, 900), exif_rotated: bool = False) -> bytes:
    image = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, size[0] - 20, 80], fill=(200, 30, 30))  # a red band on top
    draw.text((30, 120), "Apotheke am Markt – Summe 12,90 EUR", fill=(0, 0, 0))
    out = io.BytesIO()
    if exif_rotated:
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
        image.save(out, format="JPEG", quality=85, exif=exif)
    else:
        image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def png(size: tuple[int, int] = (500, 300), alpha: bool = True) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (30, 90, 160, 200) if alpha else (30, 90, 160))
    ImageDraw.Draw(image).text((20, 20), "Beleg Screenshot", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def encrypted_pdf(user_password: str = "geheim") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(2))))
    writer.encrypt(user_password=user_password, owner_password="eigentuemer", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = pdf(3)
    return data[: len(data) * 2 // 3]


def javascript_pdf(how: str = "openaction") -> bytes:
    """A PDF that runs JavaScript when opened (/OpenAction), has document-level JavaScript ("names"), or a
    Launch action when its page opens ("launch")."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(1))))
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1);")}
    )
    if how == "names":
        tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("a"), script])})
        writer.root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    elif how == "openaction":
        writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hallo');"),
            }
        )
    else:
        page = writer.pages[0]
        page[NameObject("/AA")] = DictionaryObject(
            {
                NameObject("/O"): DictionaryObject(
                    {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
                )
            }
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def huge_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A decompression bomb: a PNG whose header claims `width` × `height` pixels, in a few hundred bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit grey
    rows = zlib.compress(b"\0" * (width // 8 + 1) * 16, 9)  # the first rows; the rest would follow
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def odd_image(mode: str) -> bytes:
    """Images in the modes phones and scanners also make: CMYK JPEG, 16-bit grey PNG, palette PNG with
    transparency."""
    out = io.BytesIO()
    if mode == "CMYK":
        Image.new("CMYK", (300, 200), (0, 80, 80, 10)).save(out, format="JPEG")
    elif mode == "I;16":
        Image.new("I;16", (120, 80), 40000).save(out, format="PNG")
    else:
        image = Image.new("P", (100, 60), 1)
        image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
        image.save(out, format="PNG", transparency=0)
    return out.getvalue()
