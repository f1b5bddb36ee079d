"""The one view of a work item: what the portal and operators see, with every IBAN masked."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.runtime.item_view import (
    SYSTEM_ERROR_MESSAGE,
    operator_detail,
    operator_row,
    portal_view,
)
from bots.runtime.models import Artifact, Case, CaseNote, Event, ItemError, WorkItem
from bots.runtime.states import CaseStatus, DeferReason, Status

IBAN = "DE89370400440532013000"
GROUPED = "DE89 3704 0044 0532 0130 00"
MASKED = "DE89 **** **** **** **30 00"
AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def make_item(**changes: Any) -> WorkItem:
    item = WorkItem(
        id=7,
        queue="bank_change",
        reference=f"portal-{IBAN}",
        customer_id=f"K-{IBAN}",
        priority=0,
        status=Status.PENDING,
        defer_reason=None,
        not_before=None,
        due_at=AT + timedelta(hours=24),
        attempts=0,
        max_attempts=5,
        lease_owner=None,
        lease_expires=None,
        payload={"customer_id": "K1", "accounts": [{"iban": GROUPED}], "note": f"new account {IBAN}"},
        result=None,
        error=None,
        progress={},
        version=1,
        created_at=AT,
        updated_at=AT,
    )
    return replace(item, **changes)


def failed_item() -> WorkItem:
    return make_item(
        status=Status.FAILED,
        attempts=5,
        error=ItemError(
            kind="system",
            code="RuntimeError",
            message=f"core system refused {IBAN}",
            traceback=f'Traceback (most recent call last):\n  File "bot.py", line 1\nRuntimeError: {GROUPED}\n',
        ),
    )


def strings(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_no_iban_leaves_in_any_view() -> None:
    item = failed_item()
    event = Event(
        1, AT, "worker-1", "item", "7", "bank_change", "running", "failed", f"boom {IBAN}", {"iban": IBAN}
    )
    artifact = Artifact(3, 7, "ab" * 32, "application/pdf", f"{IBAN}.pdf", "upload", 10, AT)
    case = Case(
        id=2,
        item_id=7,
        queue="bank_change",
        unit="Kranken",
        reason_code="check_account",
        note=f"please check {IBAN}",
        status=CaseStatus.OPEN,
        assignee=None,
        due_at=AT,
        resolution=None,
        version=1,
        created_at=AT,
        updated_at=AT,
        notes=(CaseNote(AT, "clerk", f"called about {GROUPED}"),),
    )
    views = [
        portal_view(item),
        operator_row(item),
        operator_detail(item, events=[event], artifacts=[artifact], cases=[case]),
    ]
    for view in views:
        assert IBAN not in strings(view) and GROUPED not in strings(view)
    detail = views[2]
    assert detail["reference"] == f"portal-{MASKED}" and detail["customer_id"] == f"K-{MASKED}"
    assert detail["payload"]["accounts"][0]["iban"] == MASKED
    assert detail["error"]["message"] == f"core system refused {MASKED}"
    assert f"RuntimeError: {MASKED}" in detail["error"]["traceback"]
    assert detail["events"][0]["reason"] == f"boom {MASKED}" and detail["events"][0]["detail"] == {
        "iban": MASKED
    }
    assert detail["cases"][0]["note"] == f"please check {MASKED}"
    assert detail["cases"][0]["notes"][0]["text"] == f"called about {MASKED}"
    assert detail["artifacts"][0]["filename"] == f"{MASKED}.pdf"


def test_the_portal_sees_no_traceback_of_a_failure() -> None:
    view = portal_view(failed_item())
    assert view["status"] == "failed"
    assert view["error"] == {"code": "system_error", "message": SYSTEM_ERROR_MESSAGE}
    assert "Traceback" not in strings(view) and "RuntimeError" not in strings(view)
    assert "payload" not in view and "customer_id" not in view


def test_the_portal_sees_a_rejections_customer_message_and_a_result_only_when_done() -> None:
    rejected = make_item(
        status=Status.REJECTED,
        error=ItemError("reject", "policy_lapsed", f"Police ruht; Konto {IBAN}", traceback="internal"),
    )
    assert portal_view(rejected)["error"] == {
        "code": "policy_lapsed",
        "message": f"Police ruht; Konto {MASKED}",
    }
    running = make_item(status=Status.RUNNING, result={"partial": True})
    assert portal_view(running)["result"] is None and portal_view(running)["error"] is None
    done = make_item(status=Status.DONE, result={"iban": IBAN})
    assert portal_view(done)["result"] == {"iban": MASKED}


def test_operator_views_keep_the_keys_scripts_use() -> None:
    item = make_item(status=Status.DEFERRED, defer_reason=DeferReason.SERVICE_WINDOW, not_before=AT)
    row = operator_row(item)
    assert {"id", "queue", "status", "reference", "customer_id", "attempts", "updated_at"} <= set(row)
    assert row["defer_reason"] == "service_window" and row["not_before"] == AT.isoformat()
    detail = operator_detail(item)
    assert {
        "id",
        "queue",
        "status",
        "reference",
        "customer_id",
        "attempts",
        "max_attempts",
        "defer_reason",
        "not_before",
        "due_at",
        "payload",
        "result",
        "error",
        "artifacts",
        "events",
        "cases",
    } <= set(detail)
    assert json.loads(json.dumps(detail)) == detail  # JSON-ready as it is
