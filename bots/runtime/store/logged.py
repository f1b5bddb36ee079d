"""An item's change together with its event: one statement on PostgreSQL, two on SQLite.

The hot path of every item is three changes (submitted, claimed, ended), each with its event. On
PostgreSQL the change and the event insert are one statement (a data-modifying CTE) that is its own
transaction: no BEGIN, no second statement, no COMMIT — four round trips become one. SQLite cannot
modify data in a CTE; there the two statements run in the caller's write transaction. Either way they run
prepared, on the driver's cursor (prepared.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.store import events, prepared, queues

_EVENT_COLUMNS = (
    "at",
    "actor",
    "subject",
    "subject_id",
    "queue",
    "from_state",
    "to_state",
    "reason",
    "detail",
)


@dataclass(frozen=True)
class ItemEvent:
    """The event of one item's change; the item's id and queue come from the changed row."""

    from_state: str | None
    to_state: str
    actor: str
    reason: str
    at: datetime
    detail: dict[str, Any] | None = None

    def params(self) -> dict[str, Any]:
        return {
            "e_at": self.at,
            "e_actor": self.actor,
            "e_from": str(self.from_state) if self.from_state is not None else None,
            "e_to": str(self.to_state),
            "e_reason": self.reason,
            "e_detail": self.detail or {},
        }


def values(keys: tuple[str, ...]) -> dict[str, sa.BindParameter[Any]]:
    """Bound parameters `v_<column>` for the item columns `keys`, typed as their columns: a statement that
    runs inside a CTE needs its values in the statement, not taken from the parameters' keys."""
    return {key: sa.bindparam(f"v_{key}", type_=t.items.c[key].type) for key in keys}


def bound(row_values: dict[str, Any]) -> dict[str, Any]:
    """The parameters for `values(tuple(sorted(row_values)))`."""
    return {f"v_{key}": value for key, value in row_values.items()}


def execute(
    conn: Connection,
    change: sa.Update | sa.Insert,
    params: dict[str, Any],
    event: ItemEvent,
    *,
    reset_error_run: bool = False,
) -> Any | None:
    """Run `change` (one item's insert or update, returning the item) and record `event` for the row it
    returns; with `reset_error_run`, the queue's run of system errors ends too. The row as a named tuple
    (prepared.py: these are the statements every item runs), None when it changed no row (then nothing
    was recorded)."""
    if conn.dialect.name == "postgresql":
        return prepared.one_or_none(conn, _combined(change, reset_error_run), {**params, **event.params()})
    row = prepared.one_or_none(conn, change, params)
    if row is not None:
        events.record(
            conn, "item", row.id, row.queue, event.from_state, event.to_state, event.actor, event.reason,
            event.at, event.detail,
        )  # fmt: skip
        if reset_error_run:
            queues.reset_error_run(conn, row.queue)
    return row


@cache
def _combined(change: sa.Update | sa.Insert, reset_error_run: bool) -> sa.Select[Any]:
    """PostgreSQL: WITH changed AS (change RETURNING *), logged AS (INSERT INTO events SELECT … FROM
    changed)[, reset AS (UPDATE queue_states … WHERE the queue of changed)] SELECT * FROM changed.
    Built once per statement (each `change` is itself built once, by a cached function)."""
    changed = change.cte("changed")
    e = t.events.c
    logged = (
        sa.insert(t.events)
        .from_select(
            list(_EVENT_COLUMNS),
            sa.select(
                sa.bindparam("e_at", type_=e.at.type),
                sa.bindparam("e_actor", type_=e.actor.type),
                sa.literal("item", e.subject.type),
                sa.cast(changed.c.id, e.subject_id.type),
                changed.c.queue,
                sa.bindparam("e_from", type_=e.from_state.type),
                sa.bindparam("e_to", type_=e.to_state.type),
                sa.bindparam("e_reason", type_=e.reason.type),
                sa.bindparam("e_detail", type_=e.detail.type),
            ),
        )
        .cte("logged")
    )
    extra = [logged]
    if reset_error_run:
        q = t.queue_states.c
        extra.append(
            sa.update(t.queue_states)
            .where(q.queue.in_(sa.select(changed.c.queue)), q.consecutive_errors > 0)
            .values(consecutive_errors=0)
            .cte("reset")
        )
    return sa.select(changed).add_cte(*extra)
