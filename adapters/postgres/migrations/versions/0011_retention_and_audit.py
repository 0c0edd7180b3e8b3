"""Retention policies per workspace, and the audit log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("workspace_id", sa.Text(collation="C"), nullable=False),
        sa.Column("keep_finished_days", sa.Integer(), nullable=False, server_default=sa.text("30")),
        sa.Column("keep_failed_days", sa.Integer(), nullable=False, server_default=sa.text("30")),
        sa.Column("keep_succeeded_hours", sa.Integer()),
        sa.Column("keep_audit_days", sa.Integer(), nullable=False, server_default=sa.text("365")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="retention_policies_pkey"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("workspace_id", sa.Text(collation="C"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Text()),
        sa.Column("actor_name", sa.Text()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text()),
        sa.Column("details", postgresql.JSONB(none_as_null=True)),
        sa.PrimaryKeyConstraint("id", name="audit_log_pkey"),
    )
    op.create_index("audit_log_workspace_at_idx", "audit_log", ["workspace_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("audit_log_workspace_at_idx", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("retention_policies")
