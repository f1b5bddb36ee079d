"""What the claims forwarder reads of a customer's file: its type by content, whether it is a sound PDF or
image within the limits, and the PDF pages it becomes in the bundle.

These functions parse hostile bytes: the bot calls them only in the isolated checker process
(bots.claims_forwarder.checker), never in the worker itself. Each check does the very conversion the bundle
does later, so a file that passes its check also goes into the bundle.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PDF, JPEG, PNG = "pdf", "jpeg", "png"
MEDIA_TYPES = {PDF: "application/pdf", JPEG: "image/jpeg", PNG: "image/png"}
TYPE_NAMES = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG"}
PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
# actions a PDF may not carry: they run code or open other files or programs
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch"})
MAX_PDF_OBJECTS = 500_000  # the object graph a check walks at most; a PDF with more is refused
IMAGE_LONG_SIDE = 2400  # pixels of an image's longer side in the bundle: about 200 dpi on A4
IMAGE_MARGIN = 36.0  # points around an image on its bundle page


class Refused(Exception):
    """The file fails a check: `reason` is the code the customer's message explains."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    allowed: tuple[str, ...]
    max_pdf_pages: int
    max_image_pixels: int


def detect(data: bytes) -> str | None:
    """The file's type by its first bytes (PDF, JPEG, PNG), or None; never by name or declared type."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if b"%PDF-" in data[:1024]:  # the header may follow up to 1 KiB of junk (as readers accept)
        return PDF
    return None


def check(data: bytes, limits: Limits) -> dict[str, Any]:
    """The facts of a sound file ({"kind", "pages", "width", "height"}); Refused otherwise."""
    if not data:
        raise Refused("empty")
    kind = detect(data)
    if kind is None or kind not in limits.allowed:
        raise Refused("type", kind or "unknown")
    if kind == PDF:
        return {"kind": kind, "pages": _check_pdf(data, limits.max_pdf_pages), "width": 0, "height": 0}
    width, height = _check_image(data, kind, limits.max_image_pixels)
    return {"kind": kind, "pages": 1, "width": width, "height": height}


def bundle(cover: bytes, parts: Sequence[tuple[str, bytes, str]], title: str) -> bytes:
    """One PDF: the cover sheet, then each file's pages ((kind, bytes, label) in order; images become A4
    pages), with a bookmark per file."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(cover)), outline_item="Deckblatt", import_outline=False)
    for kind, data, label in parts:
        if kind == PDF:
            reader = _open_pdf(data)
        else:
            reader = PdfReader(io.BytesIO(image_page(data, kind, label)))
        writer.append(reader, outline_item=label, import_outline=False)
    writer.add_metadata({"/Title": title, "/Producer": "PortalBots"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- PDF ----------------------------------------------------------------------------------------


def _open_pdf(data: bytes) -> Any:
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # an unknown or broken security handler
            raise Refused("encrypted", type(exc).__name__) from None
        if opened == PasswordType.NOT_DECRYPTED:
            raise Refused("encrypted")
    return reader


def _check_pdf(data: bytes, max_pages: int) -> int:
    from pypdf import PdfReader, PdfWriter

    reader = _open_pdf(data)
    try:
        pages = len(reader.pages)
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    if pages == 0:
        raise Refused("no_pages")
    if pages > max_pages:
        raise Refused("too_many_pages", str(pages))
    try:
        found = active_content(reader)
    except RecursionError:
        raise Refused("damaged", "nesting") from None
    except Refused:
        raise
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    if found:
        raise Refused("active_content", found)
    try:  # every page's content decodes (a cut-off stream fails here), then what the bundle does with it
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
        writer = PdfWriter()
        writer.append(reader, import_outline=False)
        out = io.BytesIO()
        writer.write(out)
        if len(PdfReader(io.BytesIO(out.getvalue())).pages) != pages:
            raise Refused("damaged", "pages lost")
    except Refused:
        raise
    except RecursionError:
        raise Refused("damaged", "nesting") from None
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    return pages


def active_content(reader: Any) -> str | None:
    """What makes a PDF active, or None: an /OpenAction that is an action (a destination to open at is
    fine), a document-level JavaScript name tree, or any JavaScript or Launch action anywhere in the
    document's object graph (pages, annotations, form fields, additional actions)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        raise Refused("damaged", "catalog")
    opening = root.get("/OpenAction")
    if opening is not None and isinstance(opening.get_object(), DictionaryObject):
        return "/OpenAction"
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        if isinstance(names, DictionaryObject) and "/JavaScript" in names:
            return "/JavaScript"
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    walked = 0
    while stack:
        node = stack.pop()
        walked += 1
        if walked > MAX_PDF_OBJECTS:
            raise Refused("damaged", "too many objects")
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            if "/JS" in node:
                return "/JavaScript"
            action = node.get("/S")
            if action is not None and str(action) in ACTIVE_ACTIONS:
                return str(action)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


# -- images -------------------------------------------------------------------------------------


def _check_image(data: bytes, kind: str, max_pixels: int) -> tuple[int, int]:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[kind]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise Refused("too_many_pixels", f"{width}x{height}")
            image.load()  # the whole image decodes: a truncated one fails here
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels") from None
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    if width < 1 or height < 1:
        raise Refused("damaged", "empty image")
    try:
        image_page(data, kind, "")  # what the bundle does with it
    except Exception as exc:
        raise Refused("damaged", type(exc).__name__) from None
    return width, height


def image_page(data: bytes, kind: str, label: str) -> bytes:
    """An image as one PDF page (A4, portrait or landscape as the image is), upright by its EXIF orientation,
    scaled to fit, at most IMAGE_LONG_SIDE pixels on its longer side, with `label` in small print on top. An
    upright RGB or grey JPEG within that size goes in as it is; anything else as a new JPEG."""
    from PIL import Image, ImageOps
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    from bots.insurer.letterhead import FONT, GREY, register_fonts

    with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[kind]]) as opened:
        opened.load()
        upright = opened.getexif().get(0x0112, 1) in (0, 1)
        if kind == JPEG and upright and opened.mode in ("RGB", "L") and max(opened.size) <= IMAGE_LONG_SIDE:
            embedded, (width, height) = data, opened.size  # the photo as it is: no second JPEG generation
        else:
            image = _rgb(ImageOps.exif_transpose(opened) or opened)
            image.thumbnail((IMAGE_LONG_SIDE, IMAGE_LONG_SIDE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85)
            embedded, (width, height) = out.getvalue(), image.size
    page = landscape(A4) if width > height else A4
    top = 18.0 if label else 0.0
    box_w, box_h = page[0] - 2 * IMAGE_MARGIN, page[1] - 2 * IMAGE_MARGIN - top
    scale = min(box_w / width, box_h / height)
    w, h = width * scale, height * scale
    rl_config.useA85 = 0  # (the checker process's own reportlab) a JPEG goes in as binary, not 25 % larger
    out = io.BytesIO()
    if label:
        register_fonts()
    canvas = Canvas(out, pagesize=page, invariant=True, initialFontName=FONT if label else None)
    if label:
        canvas.setFont(FONT, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(IMAGE_MARGIN, page[1] - IMAGE_MARGIN, label)
    x = (page[0] - w) / 2
    y = IMAGE_MARGIN + (box_h - h) / 2
    canvas.drawImage(ImageReader(io.BytesIO(embedded)), x, y, w, h)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _rgb(image: Any) -> Any:
    """The image as RGB; transparency over white."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("F").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
