"""The PostgreSQL execution pruner: batched deletes of whole execution families; node
runs, events, signals and idempotency keys go with their execution through
`ON DELETE CASCADE`. The retention pass and `treadle prune` both delete through here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from adapters.postgres.database import translated_errors
from adapters.postgres.tables import (
    ACTIVE_STATUSES,
    audit_log,
    concurrency_slots,
    executions,
    rate_windows,
)
from application.ports.maintenance import FamilyPosition, PrunedBatch
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


def _delete_families(top_ids: list[str]) -> Select[Any]:
    """Delete the families of the (locked) `tops` but those with a member still active (a
    grandchild, say: it waits for a later pass); count the executions deleted by status."""
    family = (
        select(executions.c.id, executions.c.id.label("top"), executions.c.status)
        .where(executions.c.id.in_(top_ids))
        .cte("family", recursive=True)
    )
    child = executions.alias("descendant")
    family = family.union_all(
        select(child.c.id, family.c.top, child.c.status).where(
            child.c.parent_execution_id == family.c.id
        )
    )
    live = select(family.c.top).where(family.c.status.in_(ACTIVE_STATUSES))
    doomed = select(family.c.id).where(family.c.top.not_in(live))
    removed = (
        delete(executions)
        .where(executions.c.id.in_(doomed))
        .returning(executions.c.status)
        .cte("removed")
    )
    return select(removed.c.status, func.count(literal_column("*"))).group_by(removed.c.status)


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
        batch = await self.delete_expired(ExpiryCutoffs.uniform(finished_before), limit)
        return sum(batch.deleted.values())

    async def delete_expired(
        self,
        cutoffs: ExpiryCutoffs,
        limit: int,
        workspace_id: str | None = None,
        after: FamilyPosition | None = None,
    ) -> PrunedBatch:
        where = _family_top(cutoffs, workspace_id)
        if after is not None:
            position = tuple_(executions.c.created_at, executions.c.id)
            where = and_(where, position > tuple_(literal(after[0]), literal(after[1])))
        # SKIP LOCKED: a top another transaction holds (a retry reopening it) is left alone.
        tops = (
            select(executions.c.id, executions.c.created_at)
            .where(where)
            .order_by(executions.c.created_at, executions.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with translated_errors():
            async with self._engine.begin() as connection:
                found = [(row.created_at, row.id) for row in await connection.execute(tops)]
                statement = _delete_families([execution_id for _, execution_id in found])
                counts = (await connection.execute(statement)).all() if found else []
        resume_after = found[-1] if len(found) == limit else None
        return PrunedBatch({str(row[0]): int(row[1]) for row in counts}, resume_after)

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

    async def delete_idle_flow_keys(self, windows_before: datetime, limit: int) -> int:
        # SKIP LOCKED: a row a step has locked is in use right now; a later pass takes it.
        idle_slots = (
            select(concurrency_slots.c.workflow_id, concurrency_slots.c.key)
            .where(concurrency_slots.c.running == 0)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        old_windows = (
            select(rate_windows.c.workflow_id, rate_windows.c.key)
            .where(rate_windows.c.window_start < windows_before)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        deletes = [
            delete(table).where(
                tuple_(table.c.workflow_id, table.c.key).in_(doomed),
                # Checked again on the locked row: it may have been taken since it was read.
                condition,
            )
            for table, doomed, condition in (
                (concurrency_slots, idle_slots, concurrency_slots.c.running == 0),
                (rate_windows, old_windows, rate_windows.c.window_start < windows_before),
            )
        ]
        with translated_errors():
            async with self._engine.begin() as connection:
                results = [await connection.execute(statement) for statement in deletes]
        return sum(int(result.rowcount) for result in results)

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
