"""Cases: an item handed to a clerk of a unit, with the clerk's notes, until the clerk decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.errors import InvalidTransition, NotFound, StaleVersion
from bots.runtime.models import (
    AUTHORITY_KEY,
    Case,
    ClerkAuthority,
    Mail,
    Resolution,
    ResolutionOutcome,
    WorkItem,
)
from bots.runtime.privacy import mask_text
from bots.runtime.resolutions import CLERK_REJECTED
from bots.runtime.states import CaseStatus, Status, check_case_transition
from bots.runtime.store import events, outbox, rows, transitions
from bots.runtime.store.engine import StoreBase

_INBOX_ORDER = (t.cases.c.due_at, t.cases.c.id)


def load_all(conn: Connection, *where: sa.ColumnElement[bool], limit: int | None = None) -> list[Case]:
    """The cases that match `where`, most urgent first, with their notes: one SELECT however many cases
    (the clerk inbox lists hundreds). `limit` counts cases, not notes."""
    picked = sa.select(t.cases.c.id).where(*where)
    if limit is not None:
        picked = picked.order_by(*_INBOX_ORDER).limit(limit)
    page = picked.subquery("page")
    joined = (
        sa.select(
            t.cases,
            t.case_notes.c.id.label("note_id"),
            t.case_notes.c.at.label("note_at"),
            t.case_notes.c.author.label("note_author"),
            t.case_notes.c.text.label("note_text"),
        )
        .select_from(
            t.cases.join(page, page.c.id == t.cases.c.id).outerjoin(
                t.case_notes, t.case_notes.c.case_id == t.cases.c.id
            )
        )
        .order_by(*_INBOX_ORDER, t.case_notes.c.id)
    )
    return rows.cases_with_notes(conn.execute(joined))


def load(conn: Connection, case_id: int) -> Case:
    found = load_all(conn, t.cases.c.id == case_id)
    if not found:
        raise NotFound(f"no case {case_id}")
    return found[0]


def open_case(
    conn: Connection,
    item: WorkItem,
    unit: str,
    reason_code: str,
    note: str,
    due_at: datetime,
    actor: str,
    now: datetime,
) -> Case:
    """Open a case for a handed-off item (the caller changes the item in the same transaction)."""
    case_id = conn.execute(
        sa.insert(t.cases)
        .values(
            item_id=item.id,
            queue=item.queue,
            unit=unit,
            reason_code=reason_code,
            note=note,
            status=CaseStatus.OPEN.value,
            due_at=due_at,
            version=1,
            created_at=now,
            updated_at=now,
        )
        .returning(t.cases.c.id)
    ).scalar_one()
    events.record(
        conn,
        "case",
        case_id,
        item.queue,
        None,
        CaseStatus.OPEN,
        actor,
        note or reason_code,
        now,
        {"item_id": item.id, "unit": unit, "reason_code": reason_code},
    )
    return load(conn, case_id)


def update(
    conn: Connection,
    case: Case,
    to: CaseStatus,
    actor: str,
    reason: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Change a case at the version it was read; checked against the case transitions, and logged (with
    `detail` in the event)."""
    check_case_transition(case.status, to)
    n = conn.execute(
        sa.update(t.cases)
        .where(t.cases.c.id == case.id, t.cases.c.version == case.version)
        .values(status=to.value, version=case.version + 1, updated_at=now, **values)
    ).rowcount
    if n != 1:
        raise StaleVersion(f"case {case.id} was changed by someone else")
    events.record(conn, "case", case.id, case.queue, case.status, to, actor, reason, now, detail)


def close_for_item(conn: Connection, item_id: int, actor: str, resolution: str, now: datetime) -> None:
    """An operator decided the item over a clerk's head: its open case is resolved, not left dangling."""
    for case in load_all(conn, t.cases.c.item_id == item_id, t.cases.c.status != CaseStatus.RESOLVED.value):
        update(conn, case, CaseStatus.RESOLVED, actor, resolution, now, resolution=resolution)


class CaseStore(StoreBase):
    """The clerks' side: listing, claiming, annotating and deciding cases."""

    def cases(
        self,
        *,
        units: Sequence[str] | None = None,
        statuses: Sequence[CaseStatus] = (),
        item_id: int | None = None,
        limit: int = 200,
    ) -> list[Case]:
        """Cases with their notes, by due date, in one query."""
        where: list[sa.ColumnElement[bool]] = []
        if item_id is not None:
            where.append(t.cases.c.item_id == item_id)
        if units is not None:
            where.append(t.cases.c.unit.in_(list(units)))
        if statuses:
            where.append(t.cases.c.status.in_([s.value for s in statuses]))
        with self._read() as conn:
            return load_all(conn, *where, limit=limit)

    def case_page(
        self,
        *,
        units: Sequence[str] | None = None,
        statuses: Sequence[CaseStatus] = (),
        queue: str | None = None,
        after: tuple[datetime | None, int] | None = None,
        limit: int = 100,
    ) -> list[Case]:
        """Cases by due date (none last), then id, after the key `after` (due date, id) of the previous
        page: a keyset page, never an OFFSET."""
        c = t.cases.c
        where: list[sa.ColumnElement[bool]] = []
        if units is not None:
            where.append(c.unit.in_(list(units)))
        if statuses:
            where.append(c.status.in_([s.value for s in statuses]))
        if queue:
            where.append(c.queue == queue)
        if after is not None:
            due, case_id = after
            if due is None:
                where.append(sa.and_(c.due_at.is_(None), c.id > case_id))
            else:
                where.append(
                    sa.or_(c.due_at > due, sa.and_(c.due_at == due, c.id > case_id), c.due_at.is_(None))
                )
        page = sa.select(c.id).where(*where).order_by(c.due_at.asc().nulls_last(), c.id.asc()).limit(limit)
        with self._read() as conn:
            found = load_all(conn, c.id.in_(page.scalar_subquery()))
        return sorted(found, key=page_key)

    def get_case(self, case_id: int) -> Case:
        with self._read() as conn:
            return load(conn, case_id)

    def claim_case(self, case_id: int, clerk: str) -> Case:
        return self._case_change(case_id, CaseStatus.CLAIMED, clerk, "claimed", assignee=clerk)

    def release_case(self, case_id: int, clerk: str) -> Case:
        return self._case_change(case_id, CaseStatus.OPEN, clerk, "released", assignee=None)

    def add_case_note(self, case_id: int, author: str, text: str) -> Case:
        if not text.strip():
            raise ValueError("a note needs text")
        now = self.now()
        with self._write() as conn:
            case = load(conn, case_id)
            if case.status == CaseStatus.RESOLVED:
                raise InvalidTransition(f"case {case_id} is resolved")
            conn.execute(sa.insert(t.case_notes).values(case_id=case_id, at=now, author=author, text=text))
            conn.execute(sa.update(t.cases).where(t.cases.c.id == case_id).values(updated_at=now))
            events.record(
                conn, "case", case_id, case.queue, case.status, case.status, author, "note added", now
            )
            return load(conn, case_id)

    def resolve_case(
        self,
        case_id: int,
        clerk: str,
        resolution: Resolution,
        note: str = "",
        *,
        notice: Mail | None = None,
    ) -> tuple[Case, WorkItem]:
        """A clerk decides with one of the resolutions the case's bot offers (`resolutions.decide` finds it
        by its code), in one transaction: the case is resolved (its resolution's code; the clerk's note
        becomes a note of the case), the item is done, rejected (the note is its customer message, `notice`
        goes to the outbox) or pending again with its attempts reset and, for a resolution with authority,
        the clerk's authority for that run; the events name the clerk and the resolution."""
        if not isinstance(resolution, Resolution):
            raise TypeError(f"resolve_case takes a Resolution (bots.runtime.resolutions), not {resolution!r}")
        note = note.strip()
        if resolution.needs_note and not note:
            raise ValueError(f"resolution {resolution.code!r} needs a note")
        now = self.now()
        with self._write() as conn:
            case = load(conn, case_id)
            if case.status == CaseStatus.CLAIMED and case.assignee != clerk:
                raise InvalidTransition(f"case {case_id} is claimed by {case.assignee}")
            item = transitions.item_row(conn, case.item_id)
            if item.status != Status.HANDED_OFF.value:
                raise InvalidTransition(f"item {case.item_id} no longer waits for case {case_id}")
            update(
                conn,
                case,
                CaseStatus.RESOLVED,
                clerk,
                f"resolved: {resolution.code}",
                now,
                _decision(resolution, mask_text(note), case.item_id),
                assignee=clerk,
                resolution=resolution.code,
            )
            if note:  # kept as the clerk wrote it, like every case note; the views mask it
                conn.execute(sa.insert(t.case_notes).values(case_id=case_id, at=now, author=clerk, text=note))
            authority = (
                ClerkAuthority(clerk, case_id, resolution.code, now) if resolution.with_authority else None
            )
            row = transitions.transition(
                conn,
                case.item_id,
                resolution.status,
                clerk,
                f"case {case_id}: {resolution.code}" + (f" ({mask_text(note)})" if note else ""),
                now,
                values=_item_values(resolution, mask_text(note), authority, item.progress or {}, now),
            )
            if notice is not None:
                outbox.add(conn, notice, now)
            return load(conn, case_id), rows.item(row)

    def _case_change(self, case_id: int, to: CaseStatus, actor: str, reason: str, **values: Any) -> Case:
        now = self.now()
        with self._write() as conn:
            case = load(conn, case_id)
            if to == CaseStatus.CLAIMED and case.status == CaseStatus.CLAIMED and case.assignee == actor:
                return case
            update(conn, case, to, actor, reason, now, **values)
            return load(conn, case_id)


def page_key(case: Case) -> tuple[bool, datetime | None, int]:
    """The order of the clerks' inbox: by due date (none last), then id."""
    return (case.due_at is None, case.due_at, case.id)


def _decision(resolution: Resolution, note: str, item_id: int) -> dict[str, Any]:
    """What the case's event keeps of the clerk's decision."""
    return {
        "item_id": item_id,
        "resolution": resolution.code,
        "outcome": resolution.outcome.value,
        "with_authority": resolution.with_authority,
        "note": note,
    }


def _item_values(
    resolution: Resolution,
    note: str,
    authority: ClerkAuthority | None,
    progress: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The columns of the item besides its state, after the clerk's decision. A rerun keeps the item's
    checkpoints; only the authority it carries is the new decision's (or none)."""
    if resolution.outcome == ResolutionOutcome.REJECTED:
        return {
            "error": {"kind": "reject", "code": CLERK_REJECTED, "message": note, "traceback": None},
            "result": {"customer_message": note},
        }
    if resolution.outcome == ResolutionOutcome.DONE:
        return {}
    progress = {k: v for k, v in progress.items() if k != AUTHORITY_KEY}
    if authority is not None:
        progress[AUTHORITY_KEY] = authority.as_json()
    # back to the bot at housekeeping's next round, with all its attempts
    return {"attempts": 0, "redispatch_at": now, "progress": progress}
