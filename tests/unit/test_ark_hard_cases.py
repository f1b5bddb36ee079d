"""The hard cases through the rules and into PDFs in all four languages, rendered to PNG for a human to look at
(test-output/ark/<case>_<lang>-<page>.png, 60 dpi)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from bots.ark_certificate import rules
from bots.ark_certificate.certificate import CertificateData, issue_certificates
from bots.insurer.facts import Customer, Policy
from bots.insurer.letterhead import default_insurer
from bots.runtime.errors import Reject
from tests.conftest import (
    FAMILY,
    LONG_NAMES,
    make_ark_request,
    make_customer,
    make_policy,
    make_tariff,
    many_persons,
    very_long_names,
)
from tests.pdf_text import cells, pages_text

PAGE_OF = {"de": "Seite {} von {}", "en": "Page {} of {}", "es": "Página {} de {}", "fr": "Page {} sur {}"}

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "ark"
LANGS = ("de", "en", "es", "fr")
TODAY = date(2027, 2, 20)
EUROPE = make_tariff("ARK-Europa 42", 42, area="EUROPE", sum_insured_eur=Decimal(250_000))
BASIC = make_tariff(
    "ARK-Jahr Basis 42",
    42,
    sum_insured_eur=Decimal(100_000),
    deductible_eur=Decimal(150),
    repatriation_of_remains=False,
    direct_settlement=False,
)
VIENNA = make_customer(city="Wien", country="AT")
CHILD_LATER = dataclasses.replace(FAMILY[3], covered_from=date(2027, 3, 10))  # after departure on 2027-03-03


def run(
    policy: Policy, customer: Customer, case: str = "", **trip: Any
) -> tuple[CertificateData, rules.Certified]:
    """The bot's steps without a browser: every rule, then the certificate's data."""
    request = make_ark_request(**trip)
    rules.check(request, policy, TODAY)
    rules.check_residence(request, customer.country)
    certified = rules.certified_persons(request, policy)
    data = CertificateData.build(
        request,
        policy,
        persons=certified.persons,
        residence=customer.country,
        issue_date=TODAY,
        reference=f"hard-case-{case}",
    )
    return data, certified


CASES: dict[str, tuple[Policy, Customer, dict[str, Any]]] = {
    "family": (make_policy(), make_customer(), {}),
    "long_names": (make_policy(insured_persons=(*FAMILY, *LONG_NAMES)), make_customer(), {}),
    "nine_persons": (
        make_policy(insured_persons=(*FAMILY, *LONG_NAMES[2:], *many_persons(3))),
        make_customer(),
        {},
    ),
    "eight_very_long_names": (make_policy(insured_persons=very_long_names(8)), VIENNA, {"country": "IT"}),
    "europe_to_italy": (make_policy(tariff=EUROPE), make_customer(), {"country": "IT"}),
    "deductible": (make_policy(tariff=BASIC), make_customer(), {"country": "US"}),
    "vienna_to_italy": (make_policy(), VIENNA, {"country": "IT"}),
    "child_covered_later": (make_policy(insured_persons=(*FAMILY[:3], CHILD_LATER)), make_customer(), {}),
}


def test_a_europe_only_tariff_to_the_usa_is_rejected() -> None:
    with pytest.raises(Reject) as info:
        run(make_policy(tariff=EUROPE), make_customer(), country="US")
    assert info.value.code == "outside_area_of_cover"
    assert "Vereinigte Staaten" in info.value.customer_message


def test_the_vienna_customer_to_austria_is_rejected() -> None:
    with pytest.raises(Reject) as info:
        run(make_policy(), VIENNA, country="AT")
    assert info.value.code == "country_of_residence"
    assert "Österreich" in info.value.customer_message


def test_the_child_covered_later_is_not_certified() -> None:
    data, certified = run(*CASES["child_covered_later"][:2])
    assert CHILD_LATER not in data.insured_persons and certified.later == (CHILD_LATER,)
    for cert in issue_certificates(data, LANGS, default_insurer()):
        drawn = [cell for cell, _size in cells(cert.pdf)]
        assert CHILD_LATER.first_name not in drawn and FAMILY[2].first_name in drawn


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
@pytest.mark.parametrize("case", list(CASES))
def test_render_the_hard_cases_to_look_at(case: str) -> None:
    policy, customer, trip = CASES[case]
    data, _certified = run(policy, customer, case, **trip)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for cert in issue_certificates(data, LANGS, default_insurer()):
        stem = f"{case}_{cert.lang}"
        for old in OUTPUT.glob(f"{stem}*"):
            old.unlink()
        pdf = OUTPUT / f"{stem}.pdf"
        pdf.write_bytes(cert.pdf)
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(OUTPUT / stem)], check=True)
        pngs = sorted(OUTPUT.glob(f"{stem}-*.png"))
        pages = pages_text(cert.pdf)
        assert len(pngs) == len(pages) == (2 if case in ("nine_persons", "eight_very_long_names") else 1)
        assert PAGE_OF[cert.lang].format(len(pages), len(pages)) in pages[-1]
        drawn = [cell for cell, _size in cells(cert.pdf)]
        for person in data.insured_persons:
            assert unicodedata.normalize("NFC", person.last_name) in drawn
        with PILImage.open(pngs[0]) as image:
            width, height = image.size
        # A4 at 60 dpi
        assert abs(width - 210 / 25.4 * 60) < 2 and abs(height - 297 / 25.4 * 60) < 2
