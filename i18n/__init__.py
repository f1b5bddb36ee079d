"""Gettext catalogs of PortalBots: load compiled translations, compile the .po files."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "portalbots"
LANGUAGES = ("de", "en", "es", "fr")
CATALOG_DIR = Path(__file__).resolve().parent


class CatalogError(RuntimeError):
    """A gettext catalog is missing or broken."""


class CatalogMissing(CatalogError):
    """No compiled catalog for that language."""


def mo_path(lang: str, directory: Path = CATALOG_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def po_path(lang: str, directory: Path = CATALOG_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(lang: str, directory: Path = CATALOG_DIR) -> Translations:
    """The compiled catalog for `lang`; raises CatalogMissing rather than falling back to msgids."""
    if lang not in LANGUAGES:
        raise CatalogMissing(f"no catalog for language {lang!r}; supported: {', '.join(LANGUAGES)}")
    path = mo_path(lang, directory)
    # babel's Translations.load would quietly return NullTranslations here, i.e. English text
    if not path.is_file():
        raise CatalogMissing(f"compiled catalog {path} is missing; run `python -m i18n compile`")
    with path.open("rb") as fp:
        return Translations(fp, domain=DOMAIN)


def compile_catalogs(directory: Path = CATALOG_DIR) -> list[Path]:
    """Compile every <lang>/LC_MESSAGES/portalbots.po under `directory` to .mo; returns the .mo paths."""
    written = []
    sources = sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    if not sources:
        raise CatalogMissing(f"no {DOMAIN}.po catalogs under {directory}")
    for po in sources:
        lang = po.parents[1].name
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=lang, domain=DOMAIN)
        problems = [
            f"{po}: {message.id!r}: {error}" for message, errors in catalog.check() for error in errors
        ]
        if problems:
            raise CatalogError("broken translations:\n" + "\n".join(problems))
        mo = po.with_suffix(".mo")
        with mo.open("wb") as fp:
            write_mo(fp, catalog)
        written.append(mo)
    return written
