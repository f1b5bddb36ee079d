"""Field types for the bots' request models, as strict as the portal's form and stated in the schema:
ISO dates (no numbers read as Unix time), ISO 3166-1 countries, text without control characters."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from babel import Locale
from pydantic import BeforeValidator, Field, WithJsonSchema

# CLDR knows territories that are no ISO 3166-1 country: exceptional reservations (AC, CP, DG, EA, IC,
# TA), Sark (CQ), Kosovo's user-assigned XK, regions (EU, EZ, QO, UN) and test codes (XA, XB, ZZ).
_NOT_ISO_3166 = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)
COUNTRY_CODES = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("a date is written YYYY-MM-DD, e.g. 2027-03-01")
    return value.strip()


def _country(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("a country is a two-letter ISO 3166-1 code, e.g. 'TH'")
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError("a country is a two-letter ISO 3166-1 code, e.g. 'TH'")
    if code not in COUNTRY_CODES:
        raise ValueError(f"{code!r} is no ISO 3166-1 country code")
    return code


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date given as YYYY-MM-DD (JSON schema `format: date`); numbers are refused."""

CountryCode = Annotated[
    str,
    BeforeValidator(_country),
    WithJsonSchema({"type": "string", "enum": sorted(COUNTRY_CODES), "description": "ISO 3166-1 alpha-2"}),
]
"""An ISO 3166-1 alpha-2 country code; lower case and blanks around it are accepted and normalised."""

Text = Annotated[
    str, BeforeValidator(_no_control_characters), Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
"""Text without control characters (tab and line breaks allowed)."""
