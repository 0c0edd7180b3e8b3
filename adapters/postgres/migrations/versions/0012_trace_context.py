"""Each execution's trace context (W3C `traceparent`/`tracestate`), when tracing is on.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites no row.
    op.add_column("executions", sa.Column("trace_context", postgresql.JSONB(none_as_null=True)))


def downgrade() -> None:
    op.drop_column("executions", "trace_context")
