"""Priorities and queues: each execution's priority (0-9, higher first) and the queue it
was put on; the claimable index walked one priority at a time (by priority, then due
time), and a second one by queue first for workers that serve some queues only.

The partial indexes hold only the rows a claim could take (pending, running, or waiting
with a wake time), so building them takes a moment even on a large history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMABLE = "status IN ('pending', 'running') OR (status = 'waiting' AND wake_at IS NOT NULL)"
_DUE: sa.ColumnElement[Any] = sa.literal_column("coalesce(wake_at, created_at)")


def upgrade() -> None:
    op.add_column(
        "executions",
        sa.Column("priority", sa.SmallInteger(), nullable=False, server_default=sa.text("5")),
    )
    op.add_column(
        "executions",
        sa.Column("queue", sa.Text(), nullable=False, server_default=sa.text("'default'")),
    )
    op.drop_index("executions_claimable_idx", table_name="executions")
    op.create_index(
        "executions_claimable_idx",
        "executions",
        ["priority", _DUE, "id"],
        postgresql_where=sa.text(_CLAIMABLE),
    )
    op.create_index(
        "executions_queue_claimable_idx",
        "executions",
        ["queue", "priority", _DUE, "id"],
        postgresql_where=sa.text(_CLAIMABLE),
    )


def downgrade() -> None:
    op.drop_index("executions_queue_claimable_idx", table_name="executions")
    op.drop_index("executions_claimable_idx", table_name="executions")
    op.create_index(
        "executions_claimable_idx",
        "executions",
        [_DUE, "id"],
        postgresql_where=sa.text(_CLAIMABLE),
    )
    op.drop_column("executions", "queue")
    op.drop_column("executions", "priority")
