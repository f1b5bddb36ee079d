"""the pull path's and the deferral's indexes hold only the items of their state, the figures' only the events
of items done; lease and resend go by status

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _of(status: str, column: str = "status") -> dict[str, Any]:
    where = sa.text(f"{column} = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    for name in ("ix_work_items_claim", "ix_work_items_status_not_before", "ix_work_items_lease",
                 "ix_work_items_redispatch"):  # fmt: skip
        op.drop_index(name, table_name="work_items")
    op.create_index("ix_work_items_claim", "work_items", ["queue", "priority", "due_at", "id"], **_of("pending"))
    op.create_index("ix_work_items_deferred", "work_items", ["not_before", "id"], **_of("deferred"))
    op.drop_index("ix_events_to_state_at", table_name="events")
    op.create_index("ix_events_done_at", "events", ["subject", "at"], **_of("done", "to_state"))


def downgrade() -> None:
    op.drop_index("ix_events_done_at", table_name="events")
    op.create_index("ix_events_to_state_at", "events", ["to_state", "at"])
    for name in ("ix_work_items_claim", "ix_work_items_deferred"):
        op.drop_index(name, table_name="work_items")
    op.create_index("ix_work_items_claim", "work_items", ["queue", "status", "priority", "due_at", "id"])
    op.create_index("ix_work_items_status_not_before", "work_items", ["status", "not_before"])
    op.create_index("ix_work_items_lease", "work_items", ["status", "lease_expires"])
    op.create_index("ix_work_items_redispatch", "work_items", ["status", "redispatch_at"])
