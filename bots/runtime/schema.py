"""Table definitions; the Alembic migrations create them, the store queries them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bots.runtime.states import Status

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)


def _of(status: Status, column: str = "status") -> dict[str, Any]:
    """A partial index: only the rows whose `column` is `status` (on both databases). However many items end
    done, an index of waiting items holds only the few that wait, and a change of state writes only the
    indexes of the states it leaves and enters. A query uses one only where it names the state in its text
    (state_is)."""
    where = sa.text(f"{column} = '{status.value}'")
    return {"sqlite_where": where, "postgresql_where": where}


items = sa.Table(
    "work_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("defer_reason", sa.String(32)),
    sa.Column("not_before", Timestamp),
    sa.Column("due_at", Timestamp),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_expires", Timestamp),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.JSON),
    sa.Column("progress", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # the one item the circuit breaker lets through a paused queue to see whether its cause is gone
    sa.Column("breaker_trial", sa.Boolean, nullable=False, server_default=sa.false()),
    # how often "run item X" was sent, and when to send it again if the item is still pending by then
    sa.Column("dispatches", sa.Integer, nullable=False, server_default="0"),
    sa.Column("redispatch_at", Timestamp),
    sa.UniqueConstraint("queue", "reference"),
    # the pull path's next item, and the deferred ones whose time has come: partial indexes, of one state each.
    # The searches among the running items (leases) and the pending ones (sent again) go by status_id.
    sa.Index("ix_work_items_claim", "queue", "priority", "due_at", "id", **_of(Status.PENDING)),
    sa.Index("ix_work_items_deferred", "not_before", "id", **_of(Status.DEFERRED)),
    # the operators' item list: newest first (keyset on id) within a status or a customer
    sa.Index("ix_work_items_status_id", "status", "id"),
    sa.Index("ix_work_items_customer_id", "customer_id", "id"),
)


def state_is(column: sa.Column[Any], status: Status) -> sa.ColumnElement[bool]:
    """`<column> = '<status>'` with the state in the statement's text, not a parameter: a planner can use a
    partial index of that state (_of) only when it sees the value (SQLite never looks into parameters,
    PostgreSQL not in a plan it reuses)."""
    return column == sa.literal_column(f"'{status.value}'", column.type)


events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(16), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("queue", sa.String(64)),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_events_subject", "subject", "subject_id", "id"),
    # the operators' figures: items done today, throughput of the last hours (only the events of an item done)
    sa.Index("ix_events_done_at", "subject", "at", **_of(Status.DONE, "to_state")),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("work_items.id"), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(64), nullable=False),
    sa.Column("reason_code", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(200)),
    sa.Column("due_at", Timestamp),
    sa.Column("resolution", sa.Text),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_cases_unit_status", "unit", "status"),
    sa.Index("ix_cases_item_id", "item_id"),
    # the clerks' inbox: keyset paging by due date, then id
    sa.Index("ix_cases_due_at_id", "due_at", "id"),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("work_items.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("item_id", "sha256", "filename"),
)

queue_states = sa.Table(
    "queue_states",
    metadata,
    sa.Column("queue", sa.String(64), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.Text),
    sa.Column("paused_at", Timestamp),
    sa.Column("paused_by", sa.String(200)),
    sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
    # the circuit breaker: when it lets a trial item through, and its current cool-down
    sa.Column("resume_at", Timestamp),
    sa.Column("cooldown_seconds", sa.Integer),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),  # the same on every attempt
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_unsent", "sent_at", "next_attempt_at"),
)

backlog_snapshots = sa.Table(
    "backlog_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32)),
    sa.Column("count", sa.Integer, nullable=False),
)

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("units", sa.JSON, nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id, salted; never the password
    # failed sign-ins in a row, and until when further attempts are refused
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", Timestamp),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

operator_tokens = sa.Table(
    "operator_tokens",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),  # of the token; the token itself is never stored
    sa.Column("operator", sa.String(64), sa.ForeignKey("operators.name"), nullable=False, index=True),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)
