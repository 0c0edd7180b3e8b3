"""Workflow sources: each version may keep the text its author wrote (JSON or YAML, byte
for byte, comments and all) beside the normalised document the engine runs.

Existing versions have none: they were saved as documents.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("workflow_versions", sa.Column("source", sa.Text(), nullable=True))
    op.add_column("workflow_versions", sa.Column("source_format", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("workflow_versions", "source_format")
    op.drop_column("workflow_versions", "source")
