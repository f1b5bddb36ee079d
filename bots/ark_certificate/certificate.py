"""What an ARK certificate states for one trip, its number, and its issue in each requested language.

Every cover statement comes from the tariff as the policy administration shows it (`TravelCover`); the
certificate names only the persons the rules certified (`rules.certified_persons`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bots.ark_certificate.layout import CertificateLayout
from bots.insurer.facts import InsuredPerson, Policy, TravelCover
from bots.insurer.letterhead import Insurer, missing_glyphs
from i18n import LANGUAGES

if TYPE_CHECKING:
    from bots.ark_certificate.request import ArkRequest


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on a certificate, the same in every language."""

    certificate_number: str
    policy_number: str
    tariff_name: str
    cover: TravelCover
    insured_persons: tuple[InsuredPerson, ...]
    travel_start: date
    travel_end: date
    country: str
    residence: str  # the customer's country of residence (ISO 3166-1 alpha-2)
    issue_date: date

    @classmethod
    def build(
        cls,
        request: ArkRequest,
        policy: Policy,
        *,
        persons: Sequence[InsuredPerson],
        residence: str,
        issue_date: date,
        reference: str,
    ) -> CertificateData:
        """The certificate of a request whose rules passed; `reference` is the work item's."""
        if policy.tariff.travel is None:
            raise ValueError(f"the tariff {policy.tariff.name!r} states no travel cover")
        return cls(
            certificate_number=certificate_number(reference),
            policy_number=request.policy_number,
            tariff_name=policy.tariff.name,
            cover=policy.tariff.travel,
            insured_persons=tuple(nfc_names(p) for p in persons),
            travel_start=request.travel_start,
            travel_end=request.travel_end,
            country=request.country,
            residence=residence,
            issue_date=issue_date,
        )

    @property
    def trip_days(self) -> int:
        return (self.travel_end - self.travel_start).days + 1


def nfc_names(person: InsuredPerson) -> InsuredPerson:
    """The person with names in composed form: a decomposed "é" (e + U+0301) prints its accent misplaced."""
    return dataclasses.replace(
        person,
        first_name=unicodedata.normalize("NFC", person.first_name),
        last_name=unicodedata.normalize("NFC", person.last_name),
    )


def certificate_number(reference: str) -> str:
    """One number per request, the same in every language and on every retry; another request gets another.

    Base32 avoids 0/O and 1/I mix-ups.
    """
    digest = base64.b32encode(hashlib.sha256(f"ark-certificate|{reference}".encode()).digest()).decode()
    return f"ARK-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


def certificate_filename(data: CertificateData, lang: str) -> str:
    return f"{data.certificate_number}_{lang}.pdf"


@dataclass(frozen=True)
class IssuedCertificate:
    """One rendered certificate, ready to be stored as an artifact and delivered."""

    lang: str
    filename: str
    pdf: bytes
    certificate_number: str

    media_type = "application/pdf"


def issue_certificates(
    data: CertificateData, languages: Sequence[str], insurer: Insurer
) -> list[IssuedCertificate]:
    """The certificate in each of `languages`, in that order; raises UnprintableName before rendering any."""
    check_printable(data.insured_persons)
    return [
        IssuedCertificate(
            lang=lang,
            filename=certificate_filename(data, lang),
            pdf=render_certificate(data, lang, insurer),
            certificate_number=data.certificate_number,
        )
        for lang in languages
    ]


class UnprintableName(ValueError):
    """An insured person's name has characters the certificate font cannot draw."""

    def __init__(self, person: InsuredPerson, missing: set[str]) -> None:
        self.person = person
        self.missing = "".join(sorted(missing))
        super().__init__(
            f"no glyph for {self.missing!r} in the name of an insured person born {person.birth_date.isoformat()}"
        )


def check_printable(persons: Sequence[InsuredPerson]) -> None:
    """Raise UnprintableName for the first person whose name the font cannot draw: never drop a letter."""
    for person in persons:
        missing = missing_glyphs(unicodedata.normalize("NFC", person.full_name))
        if missing:
            raise UnprintableName(person, missing)


def render_certificate(data: CertificateData, lang: str, insurer: Insurer) -> bytes:
    """One A4 certificate in `lang` as PDF bytes; raises UnprintableName rather than drop a letter."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported certificate language {lang!r}")
    check_printable(data.insured_persons)
    return CertificateLayout(data, lang, insurer).render()
