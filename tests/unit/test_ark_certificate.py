"""ARK certificate PDFs: every insured person, localised country, dates and amounts, real glyphs, metadata;
only the tariff's own cover; names never broken; one page up to eight persons, a clear second page after."""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import unicodedata
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
from bots.ark_certificate.layout import FIRST_PAGE_PERSONS
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
from tests.conftest import (
    FAMILY,
    LONG_NAMES,
    make_ark_request,
    make_policy,
    make_tariff,
    many_persons,
    very_long_names,
)
from tests.pdf_text import cells, pages_text, text_of

LANGS = ("de", "en", "es", "fr")
ISSUED = date(2027, 2, 20)
REFERENCE = "ark-test-reference-1"
# (country, first travel day, a birth date) as each language writes them
LOCALISED = {
    "de": ("Thailand", "3. März 2027", "17.05.1985"),
    "en": ("Thailand", "3 March 2027", "17 May 1985"),
    "es": ("Tailandia", "3 de marzo de 2027", "17 may 1985"),
    "fr": ("Thaïlande", "3 mars 2027", "17 mai 1985"),
}
TITLES = {
    "de": "Bescheinigung über eine Auslandsreise-Krankenversicherung",
    "en": "Certificate of travel health insurance",
    "es": "Certificado de seguro médico de viaje",
    "fr": "Attestation d’assurance maladie en voyage",
}
REMAINS = {
    "de": "Überführung im Todesfall",
    "en": "repatriation of mortal remains",
    "es": "repatriación de restos mortales en caso de fallecimiento",
    "fr": "le rapatriement du corps en cas de décès",
}
UNLIMITED = {"de": "unbegrenzt", "en": "unlimited", "es": "ilimitada", "fr": "illimité"}
PAGE_OF = {"de": "Seite {} von {}", "en": "Page {} of {}", "es": "Página {} de {}", "fr": "Page {} sur {}"}
SURNAME = {"de": "Nachname", "en": "Surname", "es": "Apellidos", "fr": "Nom"}
COVER_HEADING = {
    "de": "Umfang des Versicherungsschutzes",
    "en": "Scope of cover",
    "es": "Alcance de la cobertura",
    "fr": "Étendue de la couverture",
}
ISSUE_LABEL = {
    "de": "Ort und Datum der Ausstellung",
    "en": "Place and date of issue",
    "es": "Lugar y fecha de expedición",
    "fr": "Lieu et date de délivrance",
}
# what a certificate must never say: a visa rule it does not check, a cover floor instead of the tariff's sum
NEVER = (
    "Schengen",
    "810/2009",
    "Visakodex",
    "Visa Code",
    "mindestens",
    "at least",
    "como mínimo",
    "au moins",
)


def make_request(**changes: Any) -> ArkRequest:
    return make_ark_request(**{"travel_end": date(2027, 4, 13), **changes})


def certificate_data(
    policy: Policy | None = None, *, residence: str = "DE", reference: str = REFERENCE, **request: Any
) -> CertificateData:
    """What a certificate states for a request whose rules passed (every insured person certified)."""
    policy = policy or make_policy()
    return CertificateData.build(
        make_request(**request),
        policy,
        persons=policy.insured_persons,
        residence=residence,
        issue_date=ISSUED,
        reference=reference,
    )


def issue(data: CertificateData, langs: tuple[str, ...] = LANGS) -> dict[str, IssuedCertificate]:
    return {c.lang: c for c in issue_certificates(data, langs, default_insurer())}


@pytest.fixture(scope="module")
def family_certificates() -> dict[str, IssuedCertificate]:
    return issue(certificate_data())


def euro_figures(text: str, lang: str) -> set[Decimal]:
    """Every euro amount in `text`, as a number."""
    if lang == "en":
        raw = re.findall(r"€(\d[\d,]*(?:\.\d\d)?)", text)
        return {Decimal(r.replace(",", "")) for r in raw}
    raw = re.findall(r"(\d[\d. ]*(?:,\d\d)?) ?€", text)
    return {Decimal(r.replace(".", "").replace(" ", "").replace(",", ".")) for r in raw}


# ---------------------------------------------------------------- numbers, languages, metadata


def test_one_number_per_request_in_every_language() -> None:
    issued = issue_certificates(certificate_data(), ["fr", "de"], default_insurer())
    assert [c.lang for c in issued] == ["fr", "de"]
    assert issued[0].certificate_number == issued[1].certificate_number == certificate_number(REFERENCE)
    for cert in issued:
        assert cert.pdf.startswith(b"%PDF-")
        assert cert.filename == f"{cert.certificate_number}_{cert.lang}.pdf"
        assert re.fullmatch(r"ARK(-[A-Z2-7]{4}){3}", cert.certificate_number)
        assert cert.certificate_number in text_of(cert.pdf)


def test_the_number_is_stable_per_item_and_new_for_another_request() -> None:
    assert certificate_number(REFERENCE) == certificate_number(REFERENCE)  # a retry of the same item
    assert certificate_number(REFERENCE) != certificate_number("ark-test-reference-2")  # a repeat request


@pytest.mark.parametrize("lang", LANGS)
def test_a_family_certificate_names_everyone_with_localised_facts(
    lang: str, family_certificates: dict[str, IssuedCertificate]
) -> None:
    cert = family_certificates[lang]
    text = text_of(cert.pdf)
    drawn = [cell for cell, _size in cells(cert.pdf)]
    for person in FAMILY:
        assert person.first_name in drawn and person.last_name in drawn
        assert f"{person.last_name} {person.first_name}" in text
    country, start, birth = LOCALISED[lang]
    assert country in text and start in text and birth in text
    assert TITLES[lang] in text
    assert UNLIMITED[lang] in text
    assert REMAINS[lang] in text
    assert default_insurer().emergency_phone in text
    assert cert.certificate_number in text and "ARK-4711-0815" in text
    assert PAGE_OF[lang].format(1, 1) in text
    assert not [word for word in NEVER if word in text]
    assert len(PdfReader(io.BytesIO(cert.pdf)).pages) == 1


def test_the_other_languages_words_do_not_leak(family_certificates: dict[str, IssuedCertificate]) -> None:
    texts = {lang: text_of(cert.pdf) for lang, cert in family_certificates.items()}
    for lang, text in texts.items():
        for other, title in TITLES.items():
            assert (title in text) == (other == lang)
    assert "Tailandia" not in texts["fr"] and "Thaïlande" not in texts["es"]


@pytest.mark.parametrize("lang", LANGS)
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


def test_french_writes_the_first_of_a_month_as_an_ordinal() -> None:
    data = certificate_data(travel_start=date(2027, 3, 1), travel_end=date(2027, 3, 10))
    text = text_of(render_certificate(data, "fr", default_insurer()))
    assert "1er mars 2027 – 10 mars 2027" in text
    assert "1 mars" not in text
    assert "1 March 2027" in text_of(render_certificate(data, "en", default_insurer()))


# ---------------------------------------------------------------- only the tariff's cover


@pytest.mark.parametrize(
    ("cover", "figures"),
    [
        ({}, set()),
        ({"sum_insured_eur": Decimal(250_000)}, {Decimal(250_000)}),
        (
            {"sum_insured_eur": Decimal(100_000), "deductible_eur": Decimal(150)},
            {Decimal(100_000), Decimal(150)},
        ),
        ({"deductible_eur": Decimal("150.50")}, {Decimal("150.50")}),
    ],
    ids=["unlimited", "sum", "sum-and-deductible", "deductible-with-cents"],
)
@pytest.mark.parametrize("lang", LANGS)
def test_only_the_tariffs_figures_appear(lang: str, cover: dict[str, Decimal], figures: set[Decimal]) -> None:
    data = certificate_data(make_policy(tariff=make_tariff("ARK-Test", 42, **cover)))
    text = text_of(render_certificate(data, lang, default_insurer()))
    assert euro_figures(text, lang) == figures, text
    assert (UNLIMITED[lang] in text) == ("sum_insured_eur" not in cover)
    assert "30.000" not in text and "30,000" not in text and "30 000" not in text
    assert not [word for word in NEVER if word in text]


def test_a_deductible_is_stated() -> None:
    data = certificate_data(make_policy(tariff=make_tariff(deductible_eur=Decimal(150))))
    assert "Selbstbeteiligung 150 €" in text_of(render_certificate(data, "de", default_insurer()))
    assert "Deductible €150" in text_of(render_certificate(data, "en", default_insurer()))


@pytest.mark.parametrize("lang", LANGS)
def test_services_the_tariff_lacks_are_not_stated(lang: str) -> None:
    basic = make_tariff("ARK-Jahr Basis 42", 42, repatriation_of_remains=False, direct_settlement=False)
    text = text_of(render_certificate(certificate_data(make_policy(tariff=basic)), lang, default_insurer()))
    assert REMAINS[lang] not in text
    direct = {
        "de": "Direktabrechnung",
        "en": "Direct settlement",
        "es": "Pago directo",
        "fr": "Prise en charge",
    }
    assert direct[lang] not in text
    assert "directly" not in text and "direkt" not in text and "directamente" not in text
    assert "directement" not in text
    full = text_of(render_certificate(certificate_data(), lang, default_insurer()))
    assert REMAINS[lang] in full and direct[lang] in full


@pytest.mark.parametrize(
    ("lang", "area"),
    [
        ("de", "Geltungsbereich Europa außer Deutschland"),
        ("en", "Area of cover Europe except Germany"),
        ("es", "Ámbito de cobertura Europa, excepto Alemania"),
        ("fr", "Zone de couverture Europe, sauf l’Allemagne"),
    ],
)
def test_the_area_of_cover_is_the_tariffs(lang: str, area: str) -> None:
    europe = make_policy(tariff=make_tariff("ARK-Europa 42", 42, area="EUROPE"))
    text = text_of(render_certificate(certificate_data(europe, country="IT"), lang, default_insurer()))
    assert area in text
    assert "Worldwide" not in text and "Weltweit" not in text


def test_the_country_of_residence_is_excluded_from_the_area() -> None:
    data = certificate_data(residence="AT", country="IT")
    text = text_of(render_certificate(data, "de", default_insurer()))
    assert "Weltweit außer Deutschland; ausgenommen das Wohnsitzland: Österreich" in text
    en = text_of(render_certificate(data, "en", default_insurer()))
    assert "Worldwide except Germany; excluding the country of residence: Austria" in en


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("lang", LANGS)
def test_every_name_is_extracted_exactly(lang: str) -> None:
    """Wrapped only between words, never at a hyphen or inside a word, composed (NFC) even when recorded
    decomposed; a word longer than its column is set smaller, not cut."""
    persons = (*FAMILY, *LONG_NAMES)
    pdf = render_certificate(certificate_data(make_policy(insured_persons=persons)), lang, default_insurer())
    drawn = dict(cells(pdf))
    for person in persons:
        for part in (person.last_name, person.first_name):
            composed = unicodedata.normalize("NFC", part)
            assert composed in drawn, f"{composed!r} not drawn as one cell in {lang}"
    assert unicodedata.normalize("NFD", "Núñez") not in text_of(pdf)
    # the longest word is set smaller than the other names, but whole
    assert drawn["Wolfeschlegelsteinhausenbergerdorff-Sigmaringen-Brandenburg"] < drawn["Anna"] == 9
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_eight_persons_with_wrapped_names_fit_on_one_page(lang: str) -> None:
    persons = (*FAMILY, *LONG_NAMES[:2], *many_persons(FIRST_PAGE_PERSONS - 6))
    assert len(persons) == FIRST_PAGE_PERSONS
    data = certificate_data(make_policy(insured_persons=persons), residence="AT", country="IT")
    pdf = render_certificate(data, lang, default_insurer())
    (page,) = pages_text(pdf)
    assert PAGE_OF[lang].format(1, 1) in page
    assert COVER_HEADING[lang] in page and ISSUE_LABEL[lang] in page


@pytest.mark.parametrize("lang", LANGS)
def test_nine_persons_continue_on_a_clear_second_page(lang: str) -> None:
    persons = (*FAMILY, *many_persons(5))
    pdf = render_certificate(certificate_data(make_policy(insured_persons=persons)), lang, default_insurer())
    first, second = pages_text(pdf)
    assert PAGE_OF[lang].format(1, 2) in first and PAGE_OF[lang].format(2, 2) in second
    number = certificate_number(REFERENCE)
    assert number in first and number in second
    assert SURNAME[lang] in first and SURNAME[lang] in second  # the header repeats
    for person in persons[:FIRST_PAGE_PERSONS]:
        assert f"{person.last_name} {person.first_name}" in first
    assert f"{persons[-1].last_name} {persons[-1].first_name}" in second
    # the cover statements and the issue block stay together, after the last person
    assert COVER_HEADING[lang] in second and ISSUE_LABEL[lang] in second
    assert second.index(persons[-1].last_name) < second.index(COVER_HEADING[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_the_cover_never_stands_alone_on_the_second_page(lang: str) -> None:
    """Eight persons whose names all wrap do not fit on one page: the last one goes to the second page."""
    persons = very_long_names(FIRST_PAGE_PERSONS)
    data = certificate_data(make_policy(insured_persons=persons), residence="AT")
    first, second = pages_text(render_certificate(data, lang, default_insurer()))
    assert PAGE_OF[lang].format(1, 2) in first and PAGE_OF[lang].format(2, 2) in second
    assert SURNAME[lang] in second and TITLES[lang] in second
    assert (
        second.index(persons[-1].last_name)
        < second.index(COVER_HEADING[lang])
        < second.index(ISSUE_LABEL[lang])
    )
    assert persons[-2].last_name in first and persons[-1].last_name not in first


def test_many_insured_persons_flow_onto_further_pages_with_the_header() -> None:
    persons = many_persons(60)
    pdf = render_certificate(certificate_data(make_policy(insured_persons=persons)), "de", default_insurer())
    texts = pages_text(pdf)
    assert len(texts) == 3
    assert all("Nachname" in page for page in texts)
    assert all(PAGE_OF["de"].format(n, 3) in page for n, page in enumerate(texts, 1))
    everything = " ".join(texts)
    for person in persons:
        assert f"{person.last_name} {person.first_name}" in everything
    assert "Ort und Datum der Ausstellung" in texts[-1]


# ---------------------------------------------------------------- glyphs


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
    assert unprintable(pdf, "".join(p.full_name for p in FAMILY) + "–") == set()


def test_the_glyph_check_sees_a_missing_glyph() -> None:
    # DejaVu Sans has no CJK: drawn anyway, the check must notice rather than trust the text layer
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, initialFontName=FONT)
    canvas.drawString(72, 720, "漢 Öztürk")
    canvas.save()
    assert unprintable(out.getvalue(), "漢 Öztürk") == {"漢"}


def test_a_name_the_font_cannot_draw_is_named_not_dropped() -> None:
    assert missing_glyphs("Łucja Öztürk-Şahin Ádám Őrsi-Nagy Zoë") == set()
    stranger = InsuredPerson("漢", "Öztürk", date(1990, 1, 1))
    data = certificate_data(make_policy(insured_persons=(*FAMILY, stranger)))
    with pytest.raises(UnprintableName) as info:
        issue_certificates(data, ["en"], default_insurer())
    assert info.value.person == stranger and info.value.missing == "漢"
    with pytest.raises(UnprintableName, match="漢"):
        render_certificate(data, "de", default_insurer())


# ---------------------------------------------------------------- the rest


def test_rendering_is_deterministic() -> None:
    data = certificate_data()
    assert render_certificate(data, "es", default_insurer()) == render_certificate(
        data, "es", default_insurer()
    )


def test_unsupported_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="it"):
        render_certificate(certificate_data(), "it", default_insurer())


def test_a_tariff_without_travel_cover_cannot_be_certified() -> None:
    policy = make_policy(tariff=dataclasses.replace(make_tariff(), travel=None))
    with pytest.raises(ValueError, match="no travel cover"):
        certificate_data(policy)


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
    pdf = render_certificate(certificate_data(), "fr", insurer)
    text = text_of(pdf)
    assert "Muster Reiseschutz VVaG" in text and "+49 89 0000 1111" in text
    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]
    assert any(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())


def test_insurer_defaults_with_plain_settings() -> None:
    assert insurer_from_settings(InsurerSettings(_env_file=None)) == default_insurer()  # type: ignore[call-arg]
