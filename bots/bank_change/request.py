"""The portal's request to change the bank details of policies, validated at intake.

The account holder is always the customer as the policy administration knows them, so the request names no
holder (an extra field is refused). The IBAN is checked as `GET /v1/iban/{iban}` checks it; an invalid one
is refused with 422 naming the reason, and the stored payload holds the normalised IBAN (no blanks, upper
case).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from bots.bank_change.iban import REASONS, check_iban
from bots.insurer.fields import CustomerId, Distinct, LowerCase, PolicyNumber

Role = Literal["debit", "credit"]
ROLES: tuple[Role, ...] = ("debit", "credit")
MAX_POLICIES = 20
__all__ = ["MAX_POLICIES", "ROLES", "BankChangeRequest", "PolicyChoice", "Role"]

# What the schema states of an IBAN: the compact form a client should send. Blanks and lower case are
# accepted too (the portal passes on what the customer typed) but not advertised, as in the ARK request.
IBAN_PATTERN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
MAX_IBAN_INPUT = 64  # the longest IBAN has 34 characters; room for blanks between its groups


class PolicyChoice(BaseModel):
    """One policy of the customer and the accounts of it that the new IBAN is for."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    policy_number: PolicyNumber = Field(
        description="a policy of the customer: letters, digits, spaces, '.', '/' and '-'",
        examples=["LV-4713-0001"],
    )
    roles: Annotated[list[Role], LowerCase, Distinct] = Field(
        min_length=1,
        max_length=2,
        description="the account the IBAN becomes: 'debit' (the premiums are collected from it), "
        "'credit' (payments to the customer go to it), or both; each at most once",
        examples=[["debit", "credit"]],
        json_schema_extra={"uniqueItems": True},
    )


class BankChangeRequest(BaseModel):
    """A new IBAN for the debit and/or credit account of 1-20 policies of the requesting customer; the
    account holder is the customer."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    customer_id: CustomerId = Field(description="the portal's customer number", examples=["K100001"])
    iban: Annotated[str, StringConstraints(min_length=1, max_length=MAX_IBAN_INPUT)] = Field(
        description="the new account: an IBAN of a bank in the SEPA area (blanks and lower case are accepted "
        "and removed). Checked as GET /v1/iban/{iban} checks it; an invalid one is refused with 422, the "
        f"field's message starting with the reason ({', '.join(REASONS)})",
        examples=["DE89370400440532013000"],
        json_schema_extra={"pattern": IBAN_PATTERN},
    )
    policies: list[PolicyChoice] = Field(
        min_length=1,
        max_length=MAX_POLICIES,
        description=f"1-{MAX_POLICIES} policies of the customer, each named once with all its roles",
        examples=[[{"policy_number": "LV-4713-0001", "roles": ["debit", "credit"]}]],
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("iban")
    @classmethod
    def _checked_iban(cls, value: str) -> str:
        check = check_iban(value)
        if not check.valid:
            assert check.reason is not None and check.message is not None
            raise PydanticCustomError(
                f"iban_{check.reason}",
                "{reason}: {message}",
                {"reason": check.reason, "message": check.message},
            )
        return check.iban

    @field_validator("policies")
    @classmethod
    def _each_policy_once(cls, value: list[PolicyChoice]) -> list[PolicyChoice]:
        seen: set[str] = set()
        for choice in value:
            if choice.policy_number in seen:
                raise ValueError(
                    f"policy {choice.policy_number} is named twice: name each policy once with all its roles"
                )
            seen.add(choice.policy_number)
        return value
