"""Record which worker's membership lock stands behind each lease, so the other workers can
take a dead worker's executions as soon as its lock is gone instead of when its lease lapses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("lease_member", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "lease_member")
