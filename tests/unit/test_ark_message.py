"""The German Postfach message with the certificate: who is in it, who not yet, what is attached."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date

from bots.ark_certificate.certificate import CertificateData, IssuedCertificate, certificate_number
from bots.ark_certificate.message import certificate_body, certificate_subject
from bots.ark_certificate.rules import certified_persons
from bots.insurer.facts import Policy
from tests.conftest import FAMILY, make_ark_request, make_policy

NUMBER = certificate_number("message-test")


def attached(*langs: str) -> list[IssuedCertificate]:
    return [IssuedCertificate(lang, f"{NUMBER}_{lang}.pdf", b"%PDF-", NUMBER) for lang in langs]


def body(policy: Policy | None = None, langs: tuple[str, ...] = ("de",), **trip: object) -> str:
    policy = policy or make_policy()
    request = make_ark_request(**trip)
    return certificate_body(request, policy, certified_persons(request, policy), attached(*langs))


def test_the_destination_needs_no_article() -> None:
    for country, name in (
        ("TR", "Türkei"),
        ("CH", "Schweiz"),
        ("MV", "Malediven"),
        ("US", "Vereinigte Staaten"),
    ):
        request = make_ark_request(country=country)
        subject = certificate_subject(request, make_policy())
        assert f"Reiseziel: {name} (Vertrag ARK-4711-0815)" in subject
        assert f"(Reiseziel: {name}; Vertrag ARK-4711-0815)" in body(country=country)
        assert "Reise nach" not in body(country=country)


def test_one_word_for_the_document_and_nothing_about_schengen() -> None:
    text = body(langs=("de", "en"))
    subject = certificate_subject(make_ark_request(), make_policy())
    for words in (text, subject):
        assert "Bescheinigung" in words
        assert "Bestätigung" not in words and "Schengen" not in words and "Konsulat" not in words


def test_one_attachment_is_singular_several_share_the_number() -> None:
    single = body(langs=("fr",))
    assert f"Die Bescheinigung (Nr. {NUMBER}) ist als PDF-Datei angehängt:" in single
    assert f"{NUMBER}_fr.pdf (Französisch)" in single and "Sprachen" not in single
    four = body(langs=("de", "en", "es", "fr"))
    assert f"Die Bescheinigung (Nr. {NUMBER}) ist in vier Sprachen angehängt" in four
    assert four.count(NUMBER) == 5  # once in the sentence, once per file


def test_everyone_certified() -> None:
    text = body()
    assert "Die Bescheinigung gilt für alle versicherten Personen Ihres Vertrags:" in text
    for person in FAMILY:
        assert person.full_name in text
    alone = body(make_policy(insured_persons=FAMILY[:1]))
    assert "gilt für die versicherte Person Ihres Vertrags:" in alone


def test_a_person_covered_later_is_named_with_the_day_cover_begins() -> None:
    child = dataclasses.replace(FAMILY[3], covered_from=date(2027, 4, 1))
    text = body(make_policy(insured_persons=(*FAMILY[:3], child)))  # the trip starts on 2027-03-03
    certified, rest = text.split("Nicht genannt ist, wer erst nach dem Reisebeginn versichert ist:")
    assert child.full_name not in certified and FAMILY[2].full_name in certified
    assert f"{child.full_name}: versichert ab 1. April 2027" in rest
    assert "Für eine Reise, die ab dem genannten Tag beginnt, können Sie gern eine neue Bescheinigung" in rest
    assert "alle versicherten Personen" not in text


def test_names_are_composed() -> None:
    decomposed = dataclasses.replace(FAMILY[0], first_name=unicodedata.normalize("NFD", "Chloé"))
    text = body(make_policy(insured_persons=(decomposed,)))
    assert "Chloé Öztürk-Şahin" in text and unicodedata.normalize("NFD", "Chloé") not in text


def test_the_certificate_data_and_the_message_agree_on_the_number() -> None:
    request, policy = make_ark_request(), make_policy()
    data = CertificateData.build(
        request,
        policy,
        persons=FAMILY,
        residence="DE",
        issue_date=date(2027, 2, 20),
        reference="message-test",
    )
    assert data.certificate_number == NUMBER
