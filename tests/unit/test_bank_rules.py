"""The bank change's check against the portal's contract overview: pure, no system."""

from __future__ import annotations

import pytest

from bots.bank_change.request import BankChangeRequest
from bots.bank_change.rules import check_owned
from bots.runtime.errors import Reject


def request(*policies: str) -> BankChangeRequest:
    return BankChangeRequest.model_validate(
        {
            "customer_id": "K100011",
            "iban": "DE89370400440532013000",
            "policies": [{"policy_number": p, "roles": ["debit"]} for p in policies],
        }
    )


def test_the_customers_active_policies_pass_whatever_their_case() -> None:
    check_owned(request("ko-4714-0005", "LV-4713-0001"), frozenset({"KO-4714-0005", "LV-4713-0001", "X-1"}))


def test_one_foreign_policy_refuses_the_request_naming_it() -> None:
    with pytest.raises(Reject) as refused:
        check_owned(request("KO-4714-0005", "KO-4714-0006"), frozenset({"KO-4714-0005"}))
    assert refused.value.code == "policy_not_owned"
    assert refused.value.customer_message.startswith(
        "Der Vertrag KO-4714-0006 gehört nicht zu Ihren aktiven Verträgen."
    )
    assert refused.value.customer_message.endswith("Wir haben keine Bankverbindung geändert.")


def test_several_foreign_policies_are_all_named_and_none_is_known_to_an_unknown_customer() -> None:
    with pytest.raises(Reject) as refused:
        check_owned(request("A-1", "B-2", "C-3"), frozenset())
    assert refused.value.customer_message.startswith(
        "Die Verträge A-1, B-2 und C-3 gehören nicht zu Ihren aktiven Verträgen."
    )
