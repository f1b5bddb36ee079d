"""The portal's request for ARK certificates, validated at intake."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bots.insurer.fields import CustomerId, Distinct, LowerCase, PolicyNumber
from bots.runtime.fields import COUNTRY_CODES, CountryCode, IsoDate

Language = Literal["de", "en", "es", "fr"]
LANGUAGES: tuple[Language, ...] = ("de", "en", "es", "fr")
__all__ = ["COUNTRY_CODES", "LANGUAGES", "ArkRequest", "Language"]


class ArkRequest(BaseModel):
    """Certificates in 1-4 languages for one trip on one ARK policy of the requesting customer."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    customer_id: CustomerId = Field(
        description="the portal's customer number: not blank, no control characters", examples=["K100001"]
    )
    policy_number: PolicyNumber = Field(
        description="an ARK policy of the customer: letters, digits, spaces, '.', '/' and '-'",
        examples=["ARK-4711-0001"],
    )
    travel_start: IsoDate = Field(description="first day of the trip (YYYY-MM-DD)", examples=["2027-03-01"])
    travel_end: IsoDate = Field(
        description="last day of the trip (YYYY-MM-DD), not before travel_start", examples=["2027-03-10"]
    )
    country: CountryCode = Field(description="destination, ISO 3166-1 alpha-2, e.g. TH", examples=["TH"])
    languages: Annotated[list[Language], LowerCase, Distinct] = Field(
        min_length=1,
        max_length=4,
        description="one certificate in each of these languages",
        examples=[["de", "en"]],
        json_schema_extra={"uniqueItems": True},
    )

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
