"""The console's texts from the project's gettext catalogs (German by default, English switchable).

Views call `_("…")` when they build their widgets; texts kept in module constants are marked with `N_` and
translated where they are shown. `python -m i18n extract` collects both from console/.
"""

from __future__ import annotations

from babel.support import Translations

from i18n import translations

DEFAULT_LANGUAGE = "de"
LANGUAGES = ("de", "en")

_catalog: Translations = translations(DEFAULT_LANGUAGE)
_language = DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Translate from now on into `lang` (one of LANGUAGES); widgets built before keep their texts."""
    global _catalog, _language
    if lang not in LANGUAGES:
        raise ValueError(f"the console speaks {', '.join(LANGUAGES)}, not {lang!r}")
    _catalog = translations(lang)
    _language = lang


def language() -> str:
    return _language


def _(msgid: str) -> str:
    return _catalog.gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog.ngettext(singular, plural, n)


def N_(msgid: str) -> str:
    """Mark a text for the catalog; it is translated where it is shown."""
    return msgid
