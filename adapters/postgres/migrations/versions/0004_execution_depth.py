"""Record how deeply each execution is nested as a sub-workflow (0 for a top-level run), so
a workflow that starts itself stops at the engine's maximum depth instead of recursing
without end. Existing rows get 0: a child already running counts as top-level.

Revision ID: 0004
Revises: 0003
Create Date: 2026-02-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "executions",
        sa.Column("depth", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("executions", "depth")
