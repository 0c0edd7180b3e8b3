"""The initial schema: workspaces, tokens, workflows and versions, executions with their
node runs, events and signals, schedules, idempotency keys and secrets.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here rather than imported: a migration is a snapshot of the schema it creates.
ID = sa.Text(collation="C")
TIME = sa.DateTime(timezone=True)
JSON = postgresql.JSONB()
TABLES = (
    "signals",
    "node_runs",
    "idempotency_keys",
    "events",
    "executions",
    "workflow_versions",
    "workspaces",
    "workflows",
    "secrets",
    "schedules",
    "api_tokens",
)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("api_tokens_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("api_tokens_token_hash_key")),
    )
    op.create_index(
        op.f("api_tokens_workspace_id_idx"), "api_tokens", ["workspace_id"], unique=False
    )
    op.create_table(
        "schedules",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("cron", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_fire_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("overlap", sa.Text(), server_default="allow", nullable=False),
        sa.Column("catch_up", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_fired_at", TIME, nullable=True),
        sa.Column("last_execution_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("schedules_pkey")),
    )
    op.create_index(
        "schedules_due_idx", "schedules", ["next_fire_at"], unique=False, postgresql_where="enabled"
    )
    op.create_index(op.f("schedules_workflow_id_idx"), "schedules", ["workflow_id"], unique=False)
    op.create_index(
        "schedules_workspace_idx", "schedules", ["workspace_id", "created_at"], unique=False
    )
    op.create_table(
        "secrets",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("secrets_pkey")),
    )
    op.create_table(
        "workflows",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("workflows_pkey")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("workflows_workspace_id_name_key")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("workspaces_pkey")),
        sa.UniqueConstraint("name", name=op.f("workspaces_name_key")),
    )
    op.create_table(
        "workflow_versions",
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("workflow_versions_workflow_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "version", name=op.f("workflow_versions_pkey")),
    )
    op.create_table(
        "executions",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("deadline_at", TIME, nullable=True),
        sa.Column("wake_at", TIME, nullable=True),
        sa.Column("parent_execution_id", ID, nullable=True),
        sa.Column("parent_node_id", sa.Text(), nullable=True),
        sa.Column("schedule_id", ID, nullable=True),
        sa.Column("scheduled_for", TIME, nullable=True),
        sa.Column(
            "cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("rerun_of", ID, nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_expires_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id", "version"],
            ["workflow_versions.workflow_id", "workflow_versions.version"],
            name=op.f("executions_workflow_id_version_fkey"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("executions_pkey")),
    )
    op.create_index(
        "executions_claimable_idx",
        "executions",
        [sa.literal_column("coalesce(wake_at, created_at)"), "id"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('pending', 'running') OR (status = 'waiting' AND wake_at IS NOT NULL)"
        ),
    )
    op.create_index(
        "executions_lease_expiry_idx",
        "executions",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("lease_expires_at IS NOT NULL"),
    )
    op.create_index(
        "executions_parent_idx",
        "executions",
        ["parent_execution_id", "parent_node_id"],
        unique=False,
        postgresql_where=sa.text("parent_execution_id IS NOT NULL"),
    )
    op.create_index(
        "executions_schedule_fire_key",
        "executions",
        ["schedule_id", "scheduled_for"],
        unique=True,
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    )
    op.create_index(
        "executions_workflow_listing_idx",
        "executions",
        ["workflow_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "executions_workspace_listing_idx",
        "executions",
        ["workspace_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "events",
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("events_execution_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "seq", name=op.f("events_pkey")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("idempotency_keys_execution_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "key", name=op.f("idempotency_keys_pkey")),
    )
    op.create_index(
        op.f("idempotency_keys_execution_id_idx"),
        "idempotency_keys",
        ["execution_id"],
        unique=False,
    )
    op.create_table(
        "node_runs",
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", JSON, nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("wake_at", TIME, nullable=True),
        sa.Column("waiting_for", JSON, nullable=True),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("node_runs_execution_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "node_id", name=op.f("node_runs_pkey")),
    )
    op.create_table(
        "signals",
        sa.Column("id", ID, nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("consumed_by", sa.Text(), nullable=True),
        sa.Column("consumed_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("signals_execution_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("signals_pkey")),
    )
    op.create_index("signals_execution_idx", "signals", ["execution_id", "position"], unique=False)
    op.create_index(
        "signals_unconsumed_idx",
        "signals",
        ["execution_id", "name", "created_at", "position"],
        unique=False,
        postgresql_where=sa.text("consumed_by IS NULL"),
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
