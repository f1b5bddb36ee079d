"""What the intake's schema cannot state, for the contract run (`SCHEMATHESIS_HOOKS`): rules across fields
and the booking horizon, which depends on today's date. Generated ARK requests that break them are not
"schema-valid requests" and are left out; the intake's tests cover these rules one by one."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import schemathesis

HORIZON_DAYS = 365  # PORTALBOTS_ARK_MAX_FUTURE_DAYS's default


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    if (
        context.operation is None
        or context.operation.path != "/v1/ark-certificates"
        or not isinstance(body, dict)
    ):
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
