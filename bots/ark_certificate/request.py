"""The portal's request for ARK certificates, validated at intake."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from babel import Locale
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Language = Literal["de", "en", "es", "fr"]
LANGUAGES: tuple[Language, ...] = ("de", "en", "es", "fr")

# CLDR territory codes that name no country one could travel to
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})
COUNTRY_CODES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)
_POLICY_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9 ./-]*")
# What the schema states (/openapi.json): the rules above as a client must follow them. Values the
# validators normalise (lower case, surrounding blanks) are accepted too, but not advertised.
POLICY_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$"


class ArkRequest(BaseModel):
    """Certificates in 1-4 languages for one trip on one ARK policy of the requesting customer."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="the portal's customer number",
        examples=["K100001"],
        json_schema_extra={"pattern": r"\S"},  # blanks alone are stripped to nothing
    )
    policy_number: Annotated[str, StringConstraints(min_length=1, max_length=40, to_upper=True)] = Field(
        description="an ARK policy of the customer: letters, digits, spaces, '.', '/' and '-'",
        examples=["ARK-4711-0001"],
        json_schema_extra={"pattern": POLICY_NUMBER_PATTERN},
    )
    travel_start: date = Field(description="first day of the trip", examples=["2027-03-01"])
    travel_end: date = Field(description="last day of the trip", examples=["2027-03-10"])
    country: str = Field(
        description="destination, ISO 3166-1 alpha-2, e.g. TH",
        examples=["TH"],
        json_schema_extra={"enum": sorted(COUNTRY_CODES)},
    )
    languages: list[Language] = Field(
        min_length=1,
        max_length=4,
        description="one certificate in each of these languages",
        examples=[["de", "en"]],
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("policy_number")
    @classmethod
    def _policy_number_shape(cls, value: str) -> str:
        if not _POLICY_NUMBER.fullmatch(value):
            raise ValueError("policy number may contain only letters, digits, spaces, '.', '/' and '-'")
        return value

    @field_validator("country", mode="before")
    @classmethod
    def _known_country(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError("country must be a two-letter ISO 3166-1 code, e.g. 'TH'")
        if code not in COUNTRY_CODES:
            raise ValueError(f"unknown country code {code!r}")
        return code

    @field_validator("languages", mode="before")
    @classmethod
    def _normalise_languages(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return [v.strip().lower() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("languages")
    @classmethod
    def _distinct_languages(cls, value: list[Language]) -> list[Language]:
        if len(set(value)) != len(value):
            raise ValueError("languages must not repeat")
        return value

    @property
    def trip_days(self) -> int:
        """Length of the trip counting both the first and the last day."""
        return (self.travel_end - self.travel_start).days + 1
