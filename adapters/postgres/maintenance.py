"""The PostgreSQL execution pruner: batched deletes; node runs, events, signals and
idempotency keys go with their execution through `ON DELETE CASCADE`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from adapters.postgres.database import translated_errors
from adapters.postgres.tables import ACTIVE_STATUSES, executions

_children = executions.alias("children")
_parents = executions.alias("parents")


def _prunable(finished_before: datetime) -> ColumnElement[bool]:
    has_active_child = exists().where(
        _children.c.parent_execution_id == executions.c.id,
        _children.c.status.in_(ACTIVE_STATUSES),
    )
    has_active_parent = exists().where(
        _parents.c.id == executions.c.parent_execution_id,
        _parents.c.status.in_(ACTIVE_STATUSES),
    )
    return and_(
        executions.c.status.not_in(ACTIVE_STATUSES),
        executions.c.finished_at < finished_before,
        not_(or_(has_active_child, has_active_parent)),
    )


class PostgresExecutionPruner:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count_prunable(self, finished_before: datetime) -> int:
        query = select(func.count()).select_from(executions).where(_prunable(finished_before))
        with translated_errors():
            async with self._engine.connect() as connection:
                return int((await connection.execute(query)).scalar_one())

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        # SKIP LOCKED: a row another transaction holds (a retry reopening it) is left alone.
        batch = (
            select(executions.c.id)
            .where(_prunable(finished_before))
            .order_by(executions.c.finished_at, executions.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = delete(executions).where(executions.c.id.in_(batch))
        with translated_errors():
            async with self._engine.begin() as connection:
                result = await connection.execute(statement)
        return int(result.rowcount)
