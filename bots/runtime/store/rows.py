"""Database rows to the frozen value objects of models.py; nobody outside the store sees a row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Row

from bots.runtime.clock import utc
from bots.runtime.models import (
    Artifact,
    BacklogPoint,
    Case,
    CaseNote,
    Event,
    ItemError,
    Mail,
    OutboxMail,
    QueueState,
    WorkItem,
)
from bots.runtime.states import CaseStatus, DeferReason, Status


def item(row: Row[Any]) -> WorkItem:
    err = row.error
    return WorkItem(
        id=row.id,
        queue=row.queue,
        reference=row.reference,
        customer_id=row.customer_id,
        priority=row.priority,
        status=Status(row.status),
        defer_reason=DeferReason(row.defer_reason) if row.defer_reason else None,
        not_before=utc(row.not_before) if row.not_before else None,
        due_at=utc(row.due_at) if row.due_at else None,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        lease_owner=row.lease_owner,
        lease_expires=utc(row.lease_expires) if row.lease_expires else None,
        payload=row.payload,
        result=row.result,
        error=ItemError(err["kind"], err["code"], err["message"], err.get("traceback")) if err else None,
        progress=row.progress or {},
        version=row.version,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        breaker_trial=bool(row.breaker_trial),
        dispatches=row.dispatches,
    )


def event(row: Row[Any]) -> Event:
    return Event(
        row.id,
        utc(row.at),
        row.actor,
        row.subject,
        row.subject_id,
        row.queue,
        row.from_state,
        row.to_state,
        row.reason,
        row.detail or {},
    )


def cases_with_notes(joined: Iterable[Row[Any]]) -> list[Case]:
    """Cases from rows of cases outer-joined with their notes (`note_id`, `note_at`, `note_author`,
    `note_text`, NULL for a case without notes), in the order of the rows."""
    heads: dict[int, Row[Any]] = {}
    notes: dict[int, list[CaseNote]] = {}
    for row in joined:
        if row.id not in heads:
            heads[row.id], notes[row.id] = row, []
        if row.note_id is not None:
            notes[row.id].append(CaseNote(utc(row.note_at), row.note_author, row.note_text))
    return [case(head, tuple(notes[case_id])) for case_id, head in heads.items()]


def case(row: Row[Any], notes: tuple[CaseNote, ...]) -> Case:
    return Case(
        id=row.id,
        item_id=row.item_id,
        queue=row.queue,
        unit=row.unit,
        reason_code=row.reason_code,
        note=row.note,
        status=CaseStatus(row.status),
        assignee=row.assignee,
        due_at=utc(row.due_at) if row.due_at else None,
        resolution=row.resolution,
        version=row.version,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        notes=notes,
    )


def artifact(row: Row[Any], size: int) -> Artifact:
    return Artifact(
        row.id, row.item_id, row.sha256, row.media_type, row.filename, row.kind, size, utc(row.created_at)
    )


def queue_state(row: Row[Any]) -> QueueState:
    return QueueState(
        row.queue,
        bool(row.paused),
        row.paused_reason,
        utc(row.paused_at) if row.paused_at else None,
        row.paused_by,
        row.consecutive_errors,
        utc(row.resume_at) if row.resume_at else None,
        row.cooldown_seconds,
    )


def outbox_mail(row: Row[Any]) -> OutboxMail:
    return OutboxMail(
        row.id,
        row.message_id,
        Mail(row.recipient, row.subject, row.body),
        row.attempts,
        utc(row.created_at),
        utc(row.sent_at) if row.sent_at else None,
        row.last_error,
    )


def backlog_point(row: Row[Any]) -> BacklogPoint:
    return BacklogPoint(utc(row.at), row.queue, row.status, row.reason, row._mapping["count"])
