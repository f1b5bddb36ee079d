"""Request fields every bot of this insurer names the same way: the portal's customer number and the
insurer's policy numbers, as strict as the portal's form and stated in the schema."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

_POLICY_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9 ./-]*")
# What the schema states (/openapi.json): the rule as a client must follow it. Lower case and surrounding
# blanks are accepted too (normalised), but not advertised.
POLICY_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$"
# Not blank, no control characters (a NUL could not be stored): enforced and stated in the schema.
CUSTOMER_ID_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def _policy_number_shape(value: str) -> str:
    if not _POLICY_NUMBER.fullmatch(value):
        raise ValueError("policy number may contain only letters, digits, spaces, '.', '/' and '-'")
    return value


CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CUSTOMER_ID_PATTERN)]
"""The portal's customer number (give the field its description and examples where it is used)."""

PolicyNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, to_upper=True),
    AfterValidator(_policy_number_shape),
    Field(json_schema_extra={"pattern": POLICY_NUMBER_PATTERN}),
]
"""A policy number: letters, digits, spaces, '.', '/' and '-'; upper-cased."""


_Code = TypeVar("_Code", bound=Hashable)


def _lower_case_items(value: object) -> object:
    """Each string of a list stripped and lower-cased, before the item type is checked ('DE ' → 'de')."""
    if isinstance(value, list | tuple):
        return [v.strip().lower() if isinstance(v, str) else v for v in value]
    return value


def _distinct(value: list[_Code]) -> list[_Code]:
    if len(set(value)) != len(value):
        raise ValueError("the values must not repeat")
    return value


LowerCase = BeforeValidator(_lower_case_items)
"""For a list of lower-case codes (languages, account roles): the client's case and blanks are forgiven."""
Distinct = AfterValidator(_distinct)
"""For a list whose values may each appear once (state it in the schema with `uniqueItems`)."""
