"""The portal's request for ARK certificates, validated at intake."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from bots.runtime.fields import COUNTRY_CODES, CountryCode, IsoDate

Language = Literal["de", "en", "es", "fr"]
LANGUAGES: tuple[Language, ...] = ("de", "en", "es", "fr")
__all__ = ["COUNTRY_CODES", "LANGUAGES", "ArkRequest", "Language"]

_POLICY_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9 ./-]*")
# What the schema states (/openapi.json): the rules above as a client must follow them. Values the
# validators normalise (lower case, surrounding blanks) are accepted too, but not advertised.
POLICY_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$"
# Not blank, no control characters (a NUL could not be stored): enforced and stated in the schema.
CUSTOMER_ID_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class ArkRequest(BaseModel):
    """Certificates in 1-4 languages for one trip on one ARK policy of the requesting customer."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    customer_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=CUSTOMER_ID_PATTERN)
    ] = Field(
        description="the portal's customer number: not blank, no control characters",
        examples=["K100001"],
    )
    policy_number: Annotated[str, StringConstraints(min_length=1, max_length=40, to_upper=True)] = Field(
        description="an ARK policy of the customer: letters, digits, spaces, '.', '/' and '-'",
        examples=["ARK-4711-0001"],
        json_schema_extra={"pattern": POLICY_NUMBER_PATTERN},
    )
    travel_start: IsoDate = Field(description="first day of the trip (YYYY-MM-DD)", examples=["2027-03-01"])
    travel_end: IsoDate = Field(
        description="last day of the trip (YYYY-MM-DD), not before travel_start", examples=["2027-03-10"]
    )
    country: CountryCode = Field(description="destination, ISO 3166-1 alpha-2, e.g. TH", examples=["TH"])
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

    @field_validator("travel_end")
    @classmethod
    def _end_not_before_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("travel_start")
        if start is not None and value < start:
            raise ValueError(f"the trip ends ({value}) before it starts ({start})")
        return value

    @property
    def trip_days(self) -> int:
        """Length of the trip counting both the first and the last day."""
        return (self.travel_end - self.travel_start).days + 1
