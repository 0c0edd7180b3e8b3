"""Flow control: the counters behind `settings.concurrency` and `settings.rate_limit`
(one row per workflow and key), and on each execution the concurrency key it counts
under, whether it holds a slot, and why it waits to start; a partial index finds the
oldest execution of a key waiting for a slot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("flow_key", sa.Text(), nullable=True))
    op.add_column(
        "executions",
        sa.Column("holds_slot", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column("executions", sa.Column("waiting_reason", postgresql.JSONB(), nullable=True))
    op.create_index(
        "executions_slot_queue_idx",
        "executions",
        ["workflow_id", "flow_key", "created_at", "id"],
        postgresql_where=sa.text(
            "status = 'waiting' AND NOT holds_slot AND (waiting_reason ->> 'kind') = 'concurrency'"
        ),
    )
    op.create_table(
        "concurrency_slots",
        sa.Column("workflow_id", sa.Text(collation="C"), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "key"),
    )
    op.create_table(
        "rate_windows",
        sa.Column("workflow_id", sa.Text(collation="C"), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_table("concurrency_slots")
    op.drop_index("executions_slot_queue_idx", table_name="executions")
    op.drop_column("executions", "waiting_reason")
    op.drop_column("executions", "holds_slot")
    op.drop_column("executions", "flow_key")
