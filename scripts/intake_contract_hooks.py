"""What the intake's schema cannot state, for the contract run (`SCHEMATHESIS_HOOKS`): rules across fields,
the booking horizon, which depends on today's date, and a bank change's IBAN check (checksum, bank registry)
and policies named once each (after upper-casing). Generated requests that break them are not "schema-valid
requests" and are left out; the intake's tests cover these rules one by one."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import schemathesis

from bots.bank_change.iban import check_iban

HORIZON_DAYS = 365  # PORTALBOTS_ARK_MAX_FUTURE_DAYS's default


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    if context.operation is None or not isinstance(body, dict):
        return True
    if context.operation.path == "/v1/bank-changes":
        return _bank_change_passes(body)
    if context.operation.path != "/v1/ark-certificates":
        return True
    try:
        start = date.fromisoformat(body["travel_start"])
        end = date.fromisoformat(body["travel_end"])
    except (KeyError, TypeError, ValueError):
        return True  # not a pair of dates: the schema decides
    return start <= end and start <= date.today() + timedelta(days=HORIZON_DAYS)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Count the answers per operation (for the summary the script prints)."""
    path = os.environ.get("PORTALBOTS_CONTRACT_STATS")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(
            json.dumps([f"{case.operation.method.upper()} {case.operation.path}", response.status_code])
            + "\n"
        )


def _bank_change_passes(body: dict[str, Any]) -> bool:
    iban = body.get("iban")
    if isinstance(iban, str) and not check_iban(iban).valid:
        return False
    policies = body.get("policies")
    if isinstance(policies, list):
        numbers = [
            p["policy_number"].strip().upper()
            for p in policies
            if isinstance(p, dict) and isinstance(p.get("policy_number"), str)
        ]
        return len(set(numbers)) == len(numbers)
    return True
