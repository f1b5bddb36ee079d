"""A customer's submission of receipts for their health (KV) policies, validated at intake.

The portal sends a form (customer, chosen KV policies, a free text) with the files; the files are stored as
artifacts of the item, and the request names each one: its safe, distinct name (no path parts, no control
characters), its size and its SHA-256 (which finds its artifact). What a file is comes from its content, later, in the
bot's precheck; the declared type is kept for the record only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from bots.insurer.fields import CustomerId, Distinct, PolicyNumber

MAX_POLICIES = 10
MAX_MESSAGE = 2000
__all__ = ["MAX_MESSAGE", "MAX_POLICIES", "ClaimFile", "ClaimsForm", "ClaimsRequest"]


class ClaimsForm(BaseModel):
    """The portal's form "Rechnungen einreichen": the customer, the KV policies the receipts are for, a
    message to the claims department, and the receipts as `files` (PDF, JPEG or PNG)."""

    # "ignore": the form's `files` part arrives beside these fields
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    customer_id: CustomerId = Field(description="the portal's customer number", examples=["K100006"])
    policy_numbers: Annotated[list[PolicyNumber], Distinct] = Field(
        min_length=1,
        max_length=MAX_POLICIES,
        description=f"1-{MAX_POLICIES} health (KV) policies of the customer the receipts are for, each once",
        examples=[["KV-4712-0004"]],
        json_schema_extra={"uniqueItems": True},
    )
    message: Annotated[str, StringConstraints(max_length=MAX_MESSAGE)] = Field(
        default="", description="the customer's note to the claims department (plain text)"
    )


class ClaimFile(BaseModel):
    """One file of the submission, as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]  # safe and distinct in the request
    declared_type: Annotated[str, StringConstraints(max_length=200)] = ""  # never trusted
    size: int = Field(ge=0)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ClaimsRequest(ClaimsForm):
    """What a claims item carries: the form's fields and its 1-20 files."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    files: list[ClaimFile] = Field(min_length=1, max_length=20)

    @field_validator("files")
    @classmethod
    def _names_distinct(cls, value: list[ClaimFile]) -> list[ClaimFile]:
        names = [f.name.casefold() for f in value]
        if len(set(names)) != len(names):
            raise ValueError("file names must be distinct")
        return value
