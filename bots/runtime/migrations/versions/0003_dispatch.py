"""when each pending item is to be sent to a worker again

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatches", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("redispatch_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_work_items_redispatch", ["status", "redispatch_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_redispatch")
        batch_op.drop_column("redispatch_at")
        batch_op.drop_column("dispatches")
