"""Cases: an item handed to a clerk of a unit, with the clerk's notes, until the clerk decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.errors import InvalidTransition, NotFound, StaleVersion
from bots.runtime.models import Case, WorkItem
from bots.runtime.states import CaseStatus, Status, check_case_transition
from bots.runtime.store import events, rows, transitions
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
    **values: Any,
) -> None:
    """Change a case at the version it was read; checked against the case transitions, and logged."""
    check_case_transition(case.status, to)
    n = conn.execute(
        sa.update(t.cases)
        .where(t.cases.c.id == case.id, t.cases.c.version == case.version)
        .values(status=to.value, version=case.version + 1, updated_at=now, **values)
    ).rowcount
    if n != 1:
        raise StaleVersion(f"case {case.id} was changed by someone else")
    events.record(conn, "case", case.id, case.queue, case.status, to, actor, reason, now)


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
        self, case_id: int, clerk: str, decision: Status, resolution: str
    ) -> tuple[Case, WorkItem]:
        """A clerk decides: the item is done, rejected, or goes back to the bot (pending)."""
        if decision not in (Status.DONE, Status.REJECTED, Status.PENDING):
            raise InvalidTransition(f"a clerk cannot decide {decision}")
        if not resolution.strip():
            raise ValueError("a resolution needs text")
        now = self.now()
        with self._write() as conn:
            case = load(conn, case_id)
            if case.status == CaseStatus.CLAIMED and case.assignee != clerk:
                raise InvalidTransition(f"case {case_id} is claimed by {case.assignee}")
            if transitions.item_row(conn, case.item_id).status != Status.HANDED_OFF.value:
                raise InvalidTransition(f"item {case.item_id} no longer waits for case {case_id}")
            update(
                conn,
                case,
                CaseStatus.RESOLVED,
                clerk,
                f"resolved: {decision}",
                now,
                assignee=clerk,
                resolution=resolution,
            )
            values: dict[str, Any] = {}
            if decision == Status.REJECTED:
                values["error"] = {
                    "kind": "reject",
                    "code": "clerk_rejected",
                    "message": resolution,
                    "traceback": None,
                }
            if decision == Status.PENDING:
                values["attempts"] = 0
                values["redispatch_at"] = now  # back to the bot at housekeeping's next round
            row = transitions.transition(
                conn, case.item_id, decision, clerk, f"case {case_id}: {resolution}", now, values=values
            )
            return load(conn, case_id), rows.item(row)

    def _case_change(self, case_id: int, to: CaseStatus, actor: str, reason: str, **values: Any) -> Case:
        now = self.now()
        with self._write() as conn:
            case = load(conn, case_id)
            if to == CaseStatus.CLAIMED and case.status == CaseStatus.CLAIMED and case.assignee == actor:
                return case
            update(conn, case, to, actor, reason, now, **values)
            return load(conn, case_id)
