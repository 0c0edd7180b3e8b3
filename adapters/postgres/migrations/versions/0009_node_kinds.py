"""Node kinds from installed packages: the kinds each execution needs its worker to have,
and the registry of the kinds the workers have.

Existing executions need none (no package could add kinds before this revision).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "executions",
        sa.Column(
            "required_kinds",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
    )
    op.create_table(
        "node_kinds",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("config_schema", postgresql.JSONB(none_as_null=True)),
        sa.Column("example", postgresql.JSONB(none_as_null=True)),
        sa.Column("package", sa.Text()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="node_kinds_pkey"),
    )


def downgrade() -> None:
    op.drop_table("node_kinds")
    op.drop_column("executions", "required_kinds")
