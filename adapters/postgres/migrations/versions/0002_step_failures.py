"""Count an execution's consecutive failed steps, so a poison pill ends instead of being
re-claimed forever.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "executions",
        sa.Column("step_failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("executions", sa.Column("last_step_failure", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "last_step_failure")
    op.drop_column("executions", "step_failures")
