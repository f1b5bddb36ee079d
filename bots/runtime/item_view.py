"""One view of a work item for everyone outside the runtime, as JSON-ready dicts with every IBAN masked.

Two audiences:

* the **portal** (`portal_view`): status, reference and dates; the result only once the item is done; of an
  error only the customer message of a rejection, or a generic text for a system failure — never a traceback;
* **operators** (`operator_row` for lists, `operator_detail` for one item): payload, result, progress, the error
  with its traceback, the events, the artifacts, the cases with their notes and the resolutions their bot
  offers, and the clerk's authority the item runs under.

Every string that leaves here went through `privacy.mask_ibans`, whichever field it is in (reference,
customer id, payload, error message, traceback, event reason, case note, …).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bots.runtime.models import (
    Artifact,
    Case,
    CaseNote,
    ClerkAuthority,
    Event,
    ItemError,
    Resolution,
    WorkItem,
)
from bots.runtime.privacy import mask_ibans
from bots.runtime.resolutions import offered
from bots.runtime.states import CaseStatus, Status

if TYPE_CHECKING:
    from bots.runtime.bot import Registry
    from bots.runtime.store import Store

# What the portal shows its customer when the back office failed (the details are the operators' concern).
SYSTEM_ERROR_CODE = "system_error"
SYSTEM_ERROR_MESSAGE = "Technischer Fehler; wir kümmern uns darum."


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _masked(view: Mapping[str, Any]) -> dict[str, Any]:
    masked: dict[str, Any] = mask_ibans(dict(view))
    return masked


# ------------------------------------------------------------------ the portal


def portal_error(item: WorkItem) -> dict[str, str] | None:
    """The error the portal may show: a rejection's code and customer message, or a generic system error."""
    if item.error is None or item.status not in (Status.REJECTED, Status.FAILED):
        return None
    if item.error.kind == "reject":
        return {"code": item.error.code, "message": item.error.message}
    return {"code": SYSTEM_ERROR_CODE, "message": SYSTEM_ERROR_MESSAGE}


def portal_view(item: WorkItem) -> dict[str, Any]:
    """What the portal may see of an item (`GET /v1/items/{id}` of the intake)."""
    return _masked(
        {
            "id": item.id,
            "queue": item.queue,
            "status": item.status.value,
            "reference": item.reference,
            "not_before": _iso(item.not_before),
            "result": item.result if item.status == Status.DONE else None,
            "error": portal_error(item),
            "created_at": _iso(item.created_at),
            "updated_at": _iso(item.updated_at),
        }
    )


# ------------------------------------------------------------------ operators


def _row(item: WorkItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "queue": item.queue,
        "status": item.status.value,
        "reference": item.reference,
        "customer_id": item.customer_id,
        "priority": item.priority,
        "attempts": item.attempts,
        "max_attempts": item.max_attempts,
        "defer_reason": item.defer_reason.value if item.defer_reason else None,
        "not_before": _iso(item.not_before),
        "due_at": _iso(item.due_at),
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
    }


def operator_row(item: WorkItem) -> dict[str, Any]:
    """An item as one row of an operator's list."""
    return _masked(_row(item))


def _error(error: ItemError) -> dict[str, Any]:
    return {"kind": error.kind, "code": error.code, "message": error.message, "traceback": error.traceback}


def _event(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "actor": event.actor,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "detail": event.detail,
    }


def _artifact(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "filename": artifact.filename,
        "media_type": artifact.media_type,
        "kind": artifact.kind,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "created_at": _iso(artifact.created_at),
    }


def _note(note: CaseNote) -> dict[str, Any]:
    return {"at": _iso(note.at), "author": note.author, "text": note.text}


def _resolution(resolution: Resolution) -> dict[str, Any]:
    return {
        "code": resolution.code,
        "title": resolution.title,
        "outcome": resolution.outcome.value,
        "with_authority": resolution.with_authority,
        "needs_note": resolution.needs_note,
    }


def _authority(authority: ClerkAuthority | None) -> dict[str, Any] | None:
    return authority.as_json() if authority is not None else None


def _case(case: Case, resolutions: Sequence[Resolution] = ()) -> dict[str, Any]:
    """A case; `resolutions`: what its bot offers, shown while the case waits for a clerk."""
    chosen = next((r for r in resolutions if r.code == case.resolution), None)
    return {
        "id": case.id,
        "item_id": case.item_id,
        "queue": case.queue,
        "unit": case.unit,
        "reason_code": case.reason_code,
        "note": case.note,
        "status": case.status.value,
        "assignee": case.assignee,
        "due_at": _iso(case.due_at),
        "resolution": case.resolution,
        "resolution_title": chosen.title if chosen is not None else None,
        "resolutions": [] if case.status == CaseStatus.RESOLVED else [_resolution(r) for r in resolutions],
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "notes": [_note(n) for n in case.notes],
    }


def error_view(error: ItemError) -> dict[str, Any]:
    """An item's error as operators see it, traceback included."""
    return _masked(_error(error))


def event_view(event: Event) -> dict[str, Any]:
    return _masked(_event(event))


def artifact_view(artifact: Artifact) -> dict[str, Any]:
    return _masked(_artifact(artifact))


def case_view(case: Case, resolutions: Sequence[Resolution] = ()) -> dict[str, Any]:
    """A case with its notes and, while it waits for a clerk, the resolutions on offer (its bot's)."""
    return _masked(_case(case, resolutions))


def operator_detail(
    item: WorkItem,
    *,
    events: Iterable[Event] = (),
    artifacts: Iterable[Artifact] = (),
    cases: Iterable[Case] = (),
    resolutions: Sequence[Resolution] = (),
) -> dict[str, Any]:
    """Everything an operator sees of one item: its row, payload, result, progress, error, history,
    artifacts, the cases it was handed to (with the `resolutions` its bot offers), and the clerk's authority
    it runs under."""
    return _masked(
        {
            **_row(item),
            "lease_owner": item.lease_owner,
            "lease_expires": _iso(item.lease_expires),
            "version": item.version,
            "payload": item.payload,
            "result": item.result,
            "progress": item.progress,
            "error": _error(item.error) if item.error is not None else None,
            "events": [_event(e) for e in events],
            "artifacts": [_artifact(a) for a in artifacts],
            "cases": [_case(c, resolutions) for c in cases],
            "clerk_authority": _authority(ClerkAuthority.of(item.progress)),
        }
    )


# ------------------------------------------------------------------ gathered from the store


def item_cases(store: Store, item_id: int) -> list[Case]:
    """The cases an item was handed to, oldest first."""
    return sorted(store.cases(item_id=item_id), key=lambda c: c.id)


def load_operator_detail(store: Store, item_id: int, registry: Registry | None = None) -> dict[str, Any]:
    """`operator_detail` of the stored item `item_id` with its events, artifacts and cases (NotFound if none);
    with the resolutions its bot offers when `registry` knows the bot."""
    item = store.get(item_id)
    events = store.events("item", item.id)
    return operator_detail(
        item,
        events=events,
        artifacts=store.artifacts(item.id),
        cases=item_cases(store, item.id),
        resolutions=offered(registry, item.queue) if registry is not None else (),
    )
