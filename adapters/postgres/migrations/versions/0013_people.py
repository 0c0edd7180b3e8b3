"""People: users, memberships, invitations, console sessions; who created each token.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Text:
    return sa.Text(collation="C")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("created_by", _id()))
    op.create_table(
        "users",
        sa.Column("id", _id(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text()),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("last_seen_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.UniqueConstraint("issuer", "subject", name="users_issuer_subject_key"),
    )
    op.create_table(
        "memberships",
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("added_by", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name="memberships_pkey"),
    )
    op.create_index("memberships_user_idx", "memberships", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", _id(), nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="invitations_pkey"),
        sa.UniqueConstraint("workspace_id", "email", name="invitations_workspace_email_key"),
    )
    op.create_index("invitations_email_idx", "invitations", ["email"])
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.Text(), nullable=False),
        sa.Column("workspace_id", _id(), nullable=False),
        sa.Column("user_id", _id()),
        sa.Column("token_id", _id()),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="console_sessions_pkey"),
    )
    op.create_index("console_sessions_expires_idx", "console_sessions", ["expires_at"])
    op.create_index("console_sessions_user_idx", "console_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("console_sessions_user_idx", table_name="console_sessions")
    op.drop_index("console_sessions_expires_idx", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("invitations_email_idx", table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("memberships_user_idx", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_column("api_tokens", "created_by")
