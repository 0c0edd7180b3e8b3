"""Give each child execution a `for_each` node starts its item's index, and let the engine
find a node's items quickly: one child per (parent, node, index) at most, so an item
starts exactly once; the active and the failed items of a node each by their own index,
so a step reads how many run and whether one failed without scanning all of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("item_index", sa.Integer(), nullable=True))
    op.create_index(
        "executions_item_key",
        "executions",
        ["parent_execution_id", "parent_node_id", "item_index"],
        unique=True,
        postgresql_where=sa.text("item_index IS NOT NULL"),
    )
    op.create_index(
        "executions_active_items_idx",
        "executions",
        ["parent_execution_id", "parent_node_id"],
        postgresql_where=sa.text(
            "item_index IS NOT NULL AND status IN ('pending', 'running', 'waiting')"
        ),
    )
    op.create_index(
        "executions_failed_items_idx",
        "executions",
        ["parent_execution_id", "parent_node_id", "item_index"],
        postgresql_where=sa.text(
            "item_index IS NOT NULL AND status IN ('failed', 'cancelled', 'timed_out')"
        ),
    )


def downgrade() -> None:
    op.drop_index("executions_failed_items_idx", table_name="executions")
    op.drop_index("executions_active_items_idx", table_name="executions")
    op.drop_index("executions_item_key", table_name="executions")
    op.drop_column("executions", "item_index")
