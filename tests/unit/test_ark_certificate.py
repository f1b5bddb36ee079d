"""ARK certificate PDFs: every insured person, localised country, dates and amounts, real glyphs, metadata."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import struct
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFontFile
from reportlab.pdfgen.canvas import Canvas

from bots.ark_certificate.certificate import (
    CertificateData,
    IssuedCertificate,
    UnprintableName,
    certificate_number,
    issue_certificates,
    render_certificate,
)
from bots.ark_certificate.request import ArkRequest
from bots.insurer.facts import InsuredPerson, Policy
from bots.insurer.letterhead import (
    FONT,
    default_insurer,
    insurer_from_settings,
    missing_glyphs,
    register_fonts,
)
from bots.insurer.settings import InsurerSettings
from tests.conftest import FAMILY, make_ark_request, make_policy

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "ark"
ISSUED = date(2027, 2, 20)
# (country, first travel day, a birth date, minimum cover) as each language writes them
LOCALISED = {
    "de": ("Thailand", "3. März 2027", "17.05.1985", "30.000 €"),
    "en": ("Thailand", "3 March 2027", "17 May 1985", "€30,000"),
    "es": ("Tailandia", "3 de marzo de 2027", "17 may 1985", "30.000 €"),
    "fr": ("Thaïlande", "3 mars 2027", "17 mai 1985", "30 000 €"),
}
TITLES = {
    "de": "Versicherungsbestätigung für Auslandsreisen",
    "en": "Certificate of travel health insurance",
    "es": "Certificado de seguro médico de viaje",
    "fr": "Attestation d’assurance maladie voyage",
}
SCHENGEN = {"de": "Visakodex", "en": "Visa Code", "es": "Código de visados", "fr": "code des visas"}


def make_request(**changes: Any) -> ArkRequest:
    return make_ark_request(**{"travel_end": date(2027, 4, 13), **changes})


def make_facts(**changes: Any) -> Policy:
    return make_policy(**changes)


@pytest.fixture(scope="module")
def family_certificates() -> dict[str, IssuedCertificate]:
    issued = issue_certificates(make_request(), make_facts(), ISSUED, default_insurer())
    return {c.lang: c for c in issued}


def text_of(pdf: bytes) -> str:
    # pypdf may break a line anywhere; compare with whitespace normalised
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


def test_one_certificate_per_requested_language_in_order() -> None:
    issued = issue_certificates(make_request(languages=["fr", "de"]), make_facts(), ISSUED, default_insurer())
    assert [c.lang for c in issued] == ["fr", "de"]
    for cert in issued:
        assert cert.pdf.startswith(b"%PDF-")
        assert cert.filename == f"{cert.certificate_number}_{cert.lang}.pdf"
        assert re.fullmatch(r"ARK(-[A-Z2-7]{4}){3}", cert.certificate_number)
    assert issued[0].certificate_number != issued[1].certificate_number


@pytest.mark.parametrize("lang", ["de", "en", "es", "fr"])
def test_a_family_certificate_names_everyone_with_localised_facts(
    lang: str, family_certificates: dict[str, IssuedCertificate]
) -> None:
    cert = family_certificates[lang]
    text = text_of(cert.pdf)
    for person in FAMILY:
        assert person.first_name in text
        assert person.last_name in text
    country, start, birth, cover = LOCALISED[lang]
    assert country in text
    assert start in text
    assert birth in text
    assert cover in text
    assert TITLES[lang] in text
    assert SCHENGEN[lang] in text
    assert "810/2009" in text
    assert default_insurer().emergency_phone in text
    assert cert.certificate_number in text
    assert "ARK-4711-0815" in text
    # a family of four fits on one page
    assert len(PdfReader(io.BytesIO(cert.pdf)).pages) == 1


def test_the_other_languages_words_do_not_leak(family_certificates: dict[str, IssuedCertificate]) -> None:
    texts = {lang: text_of(cert.pdf) for lang, cert in family_certificates.items()}
    for lang, text in texts.items():
        for other, title in TITLES.items():
            assert (title in text) == (other == lang)
    assert "Tailandia" not in texts["fr"] and "Thaïlande" not in texts["es"]


@pytest.mark.parametrize("lang", ["de", "en", "es", "fr"])
def test_metadata_title_and_language(lang: str, family_certificates: dict[str, IssuedCertificate]) -> None:
    cert = family_certificates[lang]
    reader = PdfReader(io.BytesIO(cert.pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{TITLES[lang]} {cert.certificate_number}"
    assert reader.metadata.author == default_insurer().name
    assert LOCALISED[lang][0] in (reader.metadata.subject or "")
    assert (
        reader.trailer["/Root"]["/Lang"] == {"de": "de-DE", "en": "en-GB", "es": "es-ES", "fr": "fr-FR"}[lang]
    )


def embedded_fonts(pdf: bytes) -> list[tuple[str, dict[int, str], TTFontFile]]:
    """(base font, code -> character, parsed embedded font file) for every font the pages use."""
    fonts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            base = str(font["/BaseFont"])
            descriptor = font.get("/FontDescriptor")
            assert descriptor is not None, f"{base} is not embedded"
            file = descriptor.get_object()["/FontFile2"].get_object().get_data()
            cmap = font["/ToUnicode"].get_object().get_data().decode("ascii")
            to_char = {
                int(code, 16): chr(int(uni, 16))
                for code, uni in re.findall(r"<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]{4})>", cmap)
            }
            fonts.append((base, to_char, TTFontFile(io.BytesIO(file), validate=0)))
    return fonts


def code_to_glyph(ttf: TTFontFile) -> dict[int, int]:
    """The embedded subset's own cmap: reportlab writes one (1, 0) table of format 6."""
    table = ttf.get_table("cmap")
    _version, count = struct.unpack(">HH", table[:4])
    assert count == 1
    platform, encoding, offset = struct.unpack(">HHI", table[4:12])
    fmt, _length, _language, first, entries = struct.unpack(">5H", table[offset : offset + 10])
    assert (platform, encoding, fmt) == (1, 0, 6)
    glyphs = struct.unpack(f">{entries}H", table[offset + 10 : offset + 10 + 2 * entries])
    return {first + i: glyph for i, glyph in enumerate(glyphs)}


def unprintable(pdf: bytes, text: str) -> set[str]:
    """The characters of `text` that the PDF draws with no real glyph (or does not draw at all)."""
    needed = set(text) - {" "}
    drawn: set[str] = set()
    for _base, to_char, ttf in embedded_fonts(pdf):
        glyphs = code_to_glyph(ttf)
        for code, char in to_char.items():
            glyph = glyphs.get(code, 0)
            # .notdef prints as a box, an empty outline as a blank: a real glyph has contour data
            if char in needed and glyph != 0 and ttf.glyphPos[glyph + 1] > ttf.glyphPos[glyph]:
                drawn.add(char)
    return needed - drawn


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_names_are_drawn_with_real_glyphs(
    lang: str, family_certificates: dict[str, IssuedCertificate]
) -> None:
    pdf = family_certificates[lang].pdf
    bases = [base for base, _, _ in embedded_fonts(pdf)]
    assert bases and all("DejaVuSans" in base for base in bases), bases
    assert unprintable(pdf, "".join(p.full_name for p in FAMILY) + "€–") == set()


def test_the_glyph_check_sees_a_missing_glyph() -> None:
    # DejaVu Sans has no CJK: drawn anyway, the check must notice rather than trust the text layer
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, initialFontName=FONT)
    canvas.drawString(72, 720, "漢 Öztürk")
    canvas.save()
    assert unprintable(out.getvalue(), "漢 Öztürk") == {"漢"}


def test_a_name_the_font_cannot_draw_is_an_error_not_a_gap() -> None:
    assert missing_glyphs("Łucja Öztürk-Şahin Ádám Őrsi-Nagy Zoë") == set()
    facts = make_facts(insured_persons=(*FAMILY, InsuredPerson("漢", "Öztürk", date(1990, 1, 1))))
    data = CertificateData.build(make_request(), facts, "en", ISSUED)
    with pytest.raises(UnprintableName, match="漢"):
        render_certificate(data, "en", default_insurer())


def test_a_deductible_or_low_cover_prints_no_schengen_statement() -> None:
    plain = CertificateData.build(make_request(languages=["en"]), make_facts(), "en", ISSUED)
    for data in (
        dataclasses.replace(plain, deductible_eur=Decimal(150)),
        dataclasses.replace(plain, minimum_cover_eur=Decimal(25000)),
    ):
        assert not data.meets_schengen_requirements
        text = text_of(render_certificate(data, "en", default_insurer()))
        assert "Visa Code" not in text
        assert f"at least €{data.minimum_cover_eur:,}" in text
    odd = dataclasses.replace(plain, deductible_eur=Decimal("150.50"))
    assert "€150.50" in text_of(render_certificate(odd, "en", default_insurer()))


def test_many_insured_persons_flow_onto_a_second_page() -> None:
    persons = tuple(
        InsuredPerson(f"Vorname{i}", f"Nachname{i}", date(1970 + i, 1 + i % 12, 1 + i % 28))
        for i in range(40)
    )
    data = CertificateData.build(make_request(), make_facts(insured_persons=persons), "de", ISSUED)
    pdf = render_certificate(data, "de", default_insurer())
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = text_of(pdf)
    for person in persons:
        assert f"{person.last_name} {person.first_name}" in text
    assert "Seite 2" in text


def test_rendering_is_deterministic() -> None:
    data = CertificateData.build(make_request(), make_facts(), "es", ISSUED)
    assert render_certificate(data, "es", default_insurer()) == render_certificate(
        data, "es", default_insurer()
    )


def test_certificate_number_is_stable_and_depends_on_the_trip() -> None:
    args = ("ARK-4711", date(2027, 3, 3), date(2027, 4, 13), "TH", "de")
    assert certificate_number(*args) == certificate_number(*args)
    assert certificate_number(*args) != certificate_number("ARK-4711", *args[1:3], "VN", "de")
    assert certificate_number(*args) != certificate_number(*args[:4], "en")


def test_unsupported_language_is_an_error() -> None:
    data = CertificateData.build(make_request(), make_facts(), "de", ISSUED)
    with pytest.raises(ValueError, match="it"):
        render_certificate(data, "it", default_insurer())


def test_insurer_from_settings_with_a_logo(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (240, 80), (11, 85, 99)).save(logo)
    configured = InsurerSettings(
        insurer_name="Muster Reiseschutz VVaG",
        insurer_emergency_phone="+49 89 0000 1111",
        insurer_logo_path=logo,
        _env_file=None,  # type: ignore[call-arg]
    )
    insurer = insurer_from_settings(configured)
    assert insurer.name == "Muster Reiseschutz VVaG"
    assert insurer.street == default_insurer().street
    assert insurer.logo_png == logo.read_bytes()
    data = CertificateData.build(make_request(), make_facts(), "fr", ISSUED)
    pdf = render_certificate(data, "fr", insurer)
    text = text_of(pdf)
    assert "Muster Reiseschutz VVaG" in text and "+49 89 0000 1111" in text
    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]
    assert any(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())


def test_insurer_defaults_with_plain_settings() -> None:
    assert insurer_from_settings(InsurerSettings(_env_file=None)) == default_insurer()  # type: ignore[call-arg]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_render_pngs_to_look_at(family_certificates: dict[str, IssuedCertificate]) -> None:
    """Writes test-output/ark/certificate_<lang>-1.png for a human to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for lang, cert in family_certificates.items():
        pdf = OUTPUT / f"certificate_{lang}.pdf"
        pdf.write_bytes(cert.pdf)
        for old in OUTPUT.glob(f"certificate_{lang}-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", str(pdf), str(OUTPUT / f"certificate_{lang}")], check=True
        )
        pngs = sorted(OUTPUT.glob(f"certificate_{lang}-*.png"))
        assert len(pngs) == 1
        with PILImage.open(pngs[0]) as image:
            width, height = image.size
        # A4 at 80 dpi
        assert abs(width - 210 / 25.4 * 80) < 2 and abs(height - 297 / 25.4 * 80) < 2
