"""Webhook triggers: one row per trigger (its verification secret encrypted), and the
recent deliveries each one answered (status, execution, delivery id; never the body),
found by trigger, newest first.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Text:
    return sa.Text(collation="C")


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("id", _id(), nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("workflow_id", _id(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("verification", sa.Text(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("verify_header", sa.Text(), nullable=True),
        sa.Column("tolerance_seconds", sa.Integer(), nullable=False),
        sa.Column("delivery_id_header", sa.Text(), nullable=True),
        sa.Column("delivery_id_path", sa.Text(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("input_template", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("respond", sa.Text(), nullable=False),
        sa.Column("respond_node", sa.Text(), nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("max_body_bytes", sa.Integer(), nullable=False),
        sa.Column("rate_limit", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="triggers_pkey"),
    )
    op.create_index("triggers_workflow_id_idx", "triggers", ["workflow_id"])
    op.create_index("triggers_workspace_idx", "triggers", ["workspace_id", "created_at"])
    op.create_table(
        "trigger_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("trigger_id", _id(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("execution_id", _id(), nullable=True),
        sa.Column("delivery_id", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["triggers.id"],
            name="trigger_deliveries_trigger_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="trigger_deliveries_pkey"),
    )
    op.create_index("trigger_deliveries_trigger_idx", "trigger_deliveries", ["trigger_id", "id"])


def downgrade() -> None:
    op.drop_index("trigger_deliveries_trigger_idx", table_name="trigger_deliveries")
    op.drop_table("trigger_deliveries")
    op.drop_index("triggers_workspace_idx", table_name="triggers")
    op.drop_index("triggers_workflow_id_idx", table_name="triggers")
    op.drop_table("triggers")
