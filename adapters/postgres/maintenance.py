"""The PostgreSQL execution pruner: batched deletes of whole execution families; node
runs, events, signals and idempotency keys go with their execution through
`ON DELETE CASCADE`. The retention pass and `treadle prune` both delete through here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import (
    CTE,
    and_,
    delete,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from adapters.postgres.database import translated_errors
from adapters.postgres.tables import ACTIVE_STATUSES, audit_log, executions
from domain.retention import FAILED, SUCCEEDED, ExpiryCutoffs

MAINTENANCE_LOCK_KEY = 0x7472_6561_646C_6501
"""The advisory lock (single bigint form) whose holder has the maintenance turn."""

_SUCCEEDED = sorted(str(status) for status in SUCCEEDED)
_FAILED = sorted(str(status) for status in FAILED)
_children = executions.alias("children")
_parents = executions.alias("parents")


def _expired(cutoffs: ExpiryCutoffs) -> ColumnElement[bool]:
    return or_(
        and_(
            executions.c.status.in_(_SUCCEEDED),
            executions.c.finished_at < cutoffs.succeeded_before,
        ),
        and_(
            executions.c.status.in_(_FAILED),
            executions.c.finished_at < cutoffs.failed_before,
        ),
    )


def _family_top(cutoffs: ExpiryCutoffs, workspace_id: str | None) -> ColumnElement[bool]:
    """An execution past its cutoff that heads a family (no parent row) with no active child.

    `created_at < latest` adds nothing (an execution finishes after it is created) but lets
    the planner walk the workspace's listing index from the oldest run on.
    """
    has_parent = exists().where(_parents.c.id == executions.c.parent_execution_id)
    has_active_child = exists().where(
        _children.c.parent_execution_id == executions.c.id,
        _children.c.status.in_(ACTIVE_STATUSES),
    )
    conditions = [
        _expired(cutoffs),
        executions.c.created_at < cutoffs.latest,
        or_(executions.c.parent_execution_id.is_(None), not_(has_parent)),
        not_(has_active_child),
    ]
    if workspace_id is not None:
        conditions.append(executions.c.workspace_id == workspace_id)
    return and_(*conditions)


def _families(tops: CTE) -> CTE:
    """Each top execution with all its descendants, as (id, top, status) rows."""
    family = select(tops.c.id, tops.c.id.label("top"), tops.c.status).cte("family", recursive=True)
    child = executions.alias("descendant")
    return family.union_all(
        select(child.c.id, family.c.top, child.c.status).where(
            child.c.parent_execution_id == family.c.id
        )
    )


class PostgresExecutionPruner:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count_prunable(self, finished_before: datetime) -> int:
        where = _family_top(ExpiryCutoffs.uniform(finished_before), None)
        query = select(func.count()).select_from(executions).where(where)
        with translated_errors():
            async with self._engine.connect() as connection:
                return int((await connection.execute(query)).scalar_one())

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        deleted = await self.delete_expired(ExpiryCutoffs.uniform(finished_before), limit)
        return sum(deleted.values())

    async def delete_expired(
        self, cutoffs: ExpiryCutoffs, limit: int, workspace_id: str | None = None
    ) -> dict[str, int]:
        # SKIP LOCKED: a top another transaction holds (a retry reopening it) is left alone.
        tops = (
            select(executions.c.id, executions.c.status)
            .where(_family_top(cutoffs, workspace_id))
            .order_by(executions.c.created_at, executions.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("tops")
        )
        family = _families(tops)
        # A family with any member still active (a grandchild, say) waits for a later pass.
        live = select(family.c.top).where(family.c.status.in_(ACTIVE_STATUSES))
        doomed = select(family.c.id).where(family.c.top.not_in(live))
        removed = (
            delete(executions)
            .where(executions.c.id.in_(doomed))
            .returning(executions.c.status)
            .cte("removed")
        )
        counted = select(removed.c.status, func.count(literal_column("*"))).group_by(
            removed.c.status
        )
        with translated_errors():
            async with self._engine.begin() as connection:
                rows = (await connection.execute(counted)).all()
        return {str(status): int(count) for status, count in rows}

    async def delete_audit_before(self, workspace_id: str, before: datetime, limit: int) -> int:
        batch = (
            select(audit_log.c.id)
            .where(audit_log.c.workspace_id == workspace_id, audit_log.c.at < before)
            .order_by(audit_log.c.at, audit_log.c.id)
            .limit(limit)
            .scalar_subquery()
        )
        statement = delete(audit_log).where(audit_log.c.id.in_(batch))
        with translated_errors():
            async with self._engine.begin() as connection:
                result = await connection.execute(statement)
        return int(result.rowcount)

    @asynccontextmanager
    async def maintenance_turn(self) -> AsyncIterator[bool]:
        # A transaction-scoped lock, held by an otherwise idle transaction for the pass: it
        # goes with the transaction whatever happens to this process, and it works behind a
        # transaction-pooling PgBouncer, where a session lock would not.
        with translated_errors():
            async with self._engine.connect() as connection, connection.begin():
                taken = await connection.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MAINTENANCE_LOCK_KEY}
                )
                yield bool(taken)
