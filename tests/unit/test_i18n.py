"""The gettext catalogs: complete in every language, in step with the code, compiled or an error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from i18n import (
    CATALOG_DIR,
    DOMAIN,
    LANGUAGES,
    CatalogError,
    CatalogMissing,
    compile_catalogs,
    mo_path,
    po_path,
    translations,
)

ROOT = CATALOG_DIR.parent
TEMPLATE = CATALOG_DIR / f"{DOMAIN}.pot"
# msgids that read the same in a language, legitimately
SAME_AS_ENGLISH = {
    "de": {"%(place)s, %(date)s"},
    "es": {"%(place)s, %(date)s"},
    "fr": {"Destination"},
}


def read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=lang, domain=DOMAIN)


def messages(catalog: Catalog) -> dict[object, Message]:
    return {message.id: message for message in catalog if message.id}


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read(TEMPLATE)


def test_the_template_has_the_certificate_texts(template: Catalog) -> None:
    ids = messages(template)
    assert "Certificate of travel health insurance" in ids
    assert ("%(days)d day", "%(days)d days") in ids


def test_the_template_is_up_to_date_with_the_code(template: Catalog, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "i18n", "extract", str(fresh)], cwd=ROOT, check=True, capture_output=True
    )
    extracted = set(messages(read(fresh)))
    assert extracted, "extraction found no messages"
    stored = set(messages(template))
    assert extracted == stored, (
        f"run `python -m i18n extract && python -m i18n update`: "
        f"new in code {extracted - stored}, gone from code {stored - extracted}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_is_translated(lang: str, template: Catalog) -> None:
    catalog = read(po_path(lang), lang)
    translated = messages(catalog)
    missing = set(messages(template)) - set(translated)
    assert not missing, f"{lang}: not in the catalog, run `python -m i18n update`: {missing}"
    for msgid in messages(template):
        message = translated[msgid]
        assert not message.fuzzy, f"{lang}: fuzzy {msgid!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: empty translation of {msgid!r}"
        if message.pluralizable:
            assert len(strings) == catalog.num_plurals, f"{lang}: plural forms of {msgid!r}"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert not problems, problems


@pytest.mark.parametrize("lang", ["de", "es", "fr"])
def test_translations_are_not_english_left_over(lang: str) -> None:
    catalog = read(po_path(lang), lang)
    same = {
        message.id
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string == message.id
    }
    assert same <= SAME_AS_ENGLISH[lang], same - SAME_AS_ENGLISH[lang]


@pytest.mark.parametrize(
    ("lang", "msgid", "expected"),
    [
        ("de", "Insured persons", "Versicherte Personen"),
        ("es", "Deductible", "Franquicia"),
        ("es", "Plan", "Modalidad"),
        ("en", "Plan", "Plan"),
        ("fr", "Insurer", "Assureur"),
        ("en", "Date of birth", "Date of birth"),
    ],
)
def test_compiled_catalogs_translate(lang: str, msgid: str, expected: str, tmp_path: Path) -> None:
    target = tmp_path / lang / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(po_path(lang), target)
    assert compile_catalogs(tmp_path) == [mo_path(lang, tmp_path)]
    catalog = translations(lang, tmp_path)
    assert catalog.gettext(msgid) == expected
    days = {"de": "3 Tage", "es": "3 días", "fr": "3 jours", "en": "3 days"}[lang]
    assert catalog.ngettext("%(days)d day", "%(days)d days", 3) % {"days": 3} == days


def test_the_shipped_catalogs_are_compiled() -> None:
    for lang in LANGUAGES:
        assert translations(lang).gettext("Policy number")


def test_a_missing_compiled_catalog_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(po_path("fr"), target)  # the source alone is not enough
    with pytest.raises(CatalogMissing, match="python -m i18n compile"):
        translations("fr", tmp_path)


def test_an_unknown_language_is_an_error() -> None:
    with pytest.raises(CatalogMissing, match="it"):
        translations("it")


def test_a_broken_translation_does_not_compile(tmp_path: Path) -> None:
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    text = po_path("de").read_text(encoding="utf-8")
    broken = text.replace('msgstr "Seite %(page)d von %(pages)d"', 'msgstr "Seite %(seite)d von %(pages)d"')
    assert broken != text
    (target / f"{DOMAIN}.po").write_text(broken, encoding="utf-8")
    with pytest.raises(CatalogError, match="Page"):
        compile_catalogs(tmp_path)
    assert not mo_path("de", tmp_path).exists()


def test_no_catalogs_at_all_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogMissing):
        compile_catalogs(tmp_path)
