"""The claims forwarder's file checks on real files made here, through the isolated checker process: each
kind of receipt and each kind of bad file gets its stated outcome; a hang or memory hog costs the worker
nothing but that file."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator

import pytest
from PIL import Image
from pypdf import PdfReader

from bots.claims_forwarder.checker import Checker, CheckerFailed, CheckerLimits
from bots.claims_forwarder.names import distinct_names, safe_name, with_extension
from bots.claims_forwarder.settings import ClaimsSettings
from bots.insurer.outbound import header_text
from tests.claims_files import (
    encrypted_pdf,
    huge_png,
    javascript_pdf,
    jpeg,
    odd_image,
    pdf,
    png,
    truncated_pdf,
)

LIMITS = {"allowed": ["pdf", "jpeg", "png"], "max_pdf_pages": 50, "max_image_pixels": 40_000_000}


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    c = Checker(CheckerLimits(seconds=10, memory_mb=1024))
    yield c
    c.close()


def check(checker: Checker, data: bytes, **limits: object) -> dict[str, object]:
    answer, _ = checker.call("check", {**LIMITS, **limits}, [data])
    answer.pop("blobs", None)
    return answer


@pytest.mark.parametrize(
    ("make", "kind", "pages"),
    [
        (lambda: pdf(3), "pdf", 3),
        (lambda: jpeg(), "jpeg", 1),
        (lambda: jpeg(exif_rotated=True), "jpeg", 1),
        (lambda: png(), "png", 1),
        (lambda: png(alpha=False), "png", 1),
        (lambda: encrypted_pdf(""), "pdf", 2),  # encrypted, but opens with the empty password
        (lambda: odd_image("CMYK"), "jpeg", 1),
        (lambda: odd_image("I;16"), "png", 1),
        (lambda: odd_image("P"), "png", 1),
    ],
    ids=[
        "multi-page-pdf",
        "jpeg",
        "jpeg-exif-rotated",
        "png-alpha",
        "png",
        "pdf-empty-password",
        "jpeg-cmyk",
        "png-16-bit-grey",
        "png-palette-transparent",
    ],
)
def test_sound_receipts_pass_with_their_facts(checker: Checker, make, kind: str, pages: int) -> None:  # type: ignore[no-untyped-def]
    answer = check(checker, make())
    assert answer["ok"] is True and answer["kind"] == kind and answer["pages"] == pages


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: encrypted_pdf("geheim"), "encrypted"),
        (truncated_pdf, "damaged"),
        (lambda: jpeg()[:3000], "damaged"),  # a photo cut off in the upload
        (lambda: javascript_pdf("openaction"), "active_content"),
        (lambda: javascript_pdf("names"), "active_content"),
        (lambda: javascript_pdf("launch"), "active_content"),
        (huge_png, "too_many_pixels"),
        (lambda: b"", "empty"),
        (lambda: b"GIF89a" + b"\0" * 100, "type"),
        (lambda: b"<html><script>alert(1)</script></html>", "type"),
        (lambda: b"Rechnung als Text", "type"),
        (lambda: b"%PDF-1.7\n" + b"\0" * 2000, "damaged"),
        (lambda: pdf(60), "too_many_pages"),
    ],
    ids=[
        "encrypted-pdf",
        "truncated-pdf",
        "truncated-jpeg",
        "javascript-openaction",
        "javascript-document-level",
        "launch-action",
        "image-huge-pixel-count",
        "empty",
        "gif",
        "html",
        "text",
        "pdf-header-only",
        "too-many-pages",
    ],
)
def test_bad_files_are_refused_with_their_reason(checker: Checker, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    answer = check(checker, make())
    assert answer["ok"] is False and answer["reason"] == reason, answer


def test_type_is_by_content_not_by_name_or_declared_type(checker: Checker) -> None:
    """A PDF is a PDF whatever it is called; a type the settings leave out is refused."""
    assert check(checker, pdf(2))["kind"] == "pdf"  # the checker never sees the name ".jpg"
    assert with_extension("Beleg.jpg", "pdf") == "Beleg.pdf"
    assert with_extension("Beleg.JPG", "jpeg") == "Beleg.JPG"
    assert with_extension("scan", "png") == "scan.png"
    assert with_extension("bericht.v2", "pdf") == "bericht.v2.pdf"
    assert check(checker, png(), allowed=["pdf", "jpeg"])["reason"] == "type"


def test_a_hang_is_killed_after_its_time_and_the_next_file_gets_a_fresh_process() -> None:
    checker = Checker(CheckerLimits(seconds=1.0, memory_mb=512))
    try:
        assert check(checker, pdf(1))["ok"] is True
        started = time.monotonic()
        with pytest.raises(CheckerFailed):
            checker.call("sleep", {"seconds": 30})
        assert time.monotonic() - started < 3
        assert check(checker, pdf(1))["ok"] is True and checker.started == 2
    finally:
        checker.close()


def test_a_memory_hog_is_stopped_by_the_address_space_limit() -> None:
    checker = Checker(CheckerLimits(seconds=10, memory_mb=512))
    try:
        answer, _ = checker.call("allocate", {"mb": 2048})
        assert answer["ok"] is False and answer["reason"] == "unchecked"
        assert check(checker, jpeg())["ok"] is True  # a new child after the one that ran out
        assert checker.started == 2
    finally:
        checker.close()


def test_the_bundle_has_the_cover_then_every_file_images_as_a4_pages(checker: Checker) -> None:
    cover = pdf(1, "Deckblatt")
    parts = [("pdf", pdf(3)), ("jpeg", jpeg(exif_rotated=True)), ("png", png()), ("jpeg", jpeg())]
    answer, out = checker.call(
        "bundle",
        {"kinds": [k for k, _ in parts], "labels": ["a.pdf", "b.jpg", "c.png", "d.jpg"], "title": "Belege"},
        [cover, *(d for _, d in parts)],
        seconds=30,
    )
    assert answer["ok"] is True
    reader = PdfReader(io.BytesIO(out[0]))
    assert len(reader.pages) == 1 + 3 + 1 + 1 + 1
    assert [o.title for o in reader.outline] == ["Deckblatt", "a.pdf", "b.jpg", "c.png", "d.jpg"]
    rotated, shot = reader.pages[4], reader.pages[5]
    assert rotated.mediabox.width > rotated.mediabox.height  # 640×900 turned upright by EXIF: landscape
    assert shot.mediabox.width > shot.mediabox.height
    assert "Deckblatt" in reader.pages[0].extract_text()
    upright = reader.pages[6]
    assert upright.mediabox.height > upright.mediabox.width
    (photo,) = (x.get_object() for x in upright["/Resources"]["/XObject"].values())
    # an upright photo goes in as it is: its JPEG bytes unchanged
    assert photo["/Filter"] in ("/DCTDecode", ["/DCTDecode"])
    assert hashlib.sha256(photo.get_data()).hexdigest() == hashlib.sha256(parts[3][1]).hexdigest()


def test_names_lose_path_parts_and_control_characters_and_never_collide() -> None:
    assert safe_name("../../etc/passwd.pdf", "x") == "passwd.pdf"
    assert safe_name("C:\\Users\\kunde\\Rechnung.pdf", "x") == "Rechnung.pdf"
    assert safe_name("Rech\r\nnung\x00.pdf", "x") == "Rech nung.pdf"
    assert safe_name("evil\u202efdp.exe", "x") == "evilfdp.exe"  # no right-to-left override
    assert safe_name("..", "Beleg-1") == "Beleg-1"
    assert len(safe_name("a" * 300 + ".pdf", "x")) == 100 and safe_name("a" * 300 + ".pdf", "x").endswith(
        ".pdf"
    )
    assert distinct_names(["beleg.pdf", "Beleg.pdf", "a/beleg.pdf", "", "x.jpg"]) == [
        "beleg.pdf",
        "Beleg (2).pdf",
        "beleg (3).pdf",
        "Beleg-4",
        "x.jpg",
    ]


def test_header_text_strips_every_control_and_format_character() -> None:
    assert header_text("a\r\nBcc: x@example.org") == "a Bcc: x@example.org"
    assert header_text("KV-1\x00\x1b[31m\u2028\u0085\u200e") == "KV-1 [31m"
    assert header_text("x" * 500, 20) == "x" * 19 + "…"


def test_settings_defaults_match_the_issue() -> None:
    s = ClaimsSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.claims_max_file_bytes == 10 * 2**20 and s.claims_max_submission_bytes == 20 * 2**20
    assert set(s.claims_allowed_types) == {"pdf", "jpeg", "png"}
    assert set(s.claims_departments) == {"Voll", "Zusatz", "Pflege"}


def test_images_decode_pixel_exact_in_tests() -> None:
    """The builders make what they say (guards the tests themselves)."""
    assert Image.open(io.BytesIO(jpeg())).size == (640, 900)
    assert huge_png()[16:24] == (50_000).to_bytes(4, "big") * 2 and len(huge_png()) < 2000
