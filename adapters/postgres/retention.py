"""Retention policies in PostgreSQL: one `retention_policies` row per workspace that set one."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.database import translated_errors
from adapters.postgres.repositories.audit import entry_to_row
from adapters.postgres.tables import audit_log, retention_policies
from application.audit import AuditEntry
from domain.retention import DEFAULT_POLICY, RetentionPolicy

_POLICY_COLUMNS = (
    retention_policies.c.keep_finished_days,
    retention_policies.c.keep_failed_days,
    retention_policies.c.keep_succeeded_hours,
    retention_policies.c.keep_audit_days,
)


def _policy(row: Any) -> RetentionPolicy:
    # The columns are named as the policy's fields.
    return RetentionPolicy(**{column.name: row._mapping[column.name] for column in _POLICY_COLUMNS})


class PostgresRetentionPolicies:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, workspace_id: str) -> RetentionPolicy | None:
        query = select(*_POLICY_COLUMNS).where(retention_policies.c.workspace_id == workspace_id)
        with translated_errors():
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).first()
        return None if row is None else _policy(row)

    async def put(
        self,
        workspace_id: str,
        policy: RetentionPolicy,
        at: datetime,
        change: AuditEntry | None = None,
    ) -> None:
        values = {**asdict(policy), "updated_at": at}
        statement = (
            insert(retention_policies)
            .values(workspace_id=workspace_id, **values)
            .on_conflict_do_update(index_elements=[retention_policies.c.workspace_id], set_=values)
        )
        with translated_errors():
            async with self._engine.begin() as connection:
                await connection.execute(statement)
                if change is not None:
                    await connection.execute(insert(audit_log).values(entry_to_row(change)))

    async def list_all(self) -> dict[str, RetentionPolicy]:
        stored = select(retention_policies.c.workspace_id, *_POLICY_COLUMNS)
        with translated_errors():
            async with self._engine.connect() as connection:
                policies = {
                    row.workspace_id: _policy(row) for row in await connection.execute(stored)
                }
                known = (await connection.execute(_KNOWN_WORKSPACES)).scalars().all()
        return {workspace: policies.get(workspace, DEFAULT_POLICY) for workspace in known}


def _distinct_workspaces(table: str) -> str:
    """The workspace ids of `table`, one index probe per workspace (a loose index scan over
    the index that `workspace_id` leads) rather than a walk over every row."""
    return f"""
        SELECT id FROM (
            WITH RECURSIVE seen(id) AS (
                SELECT min(workspace_id) FROM {table}
                UNION ALL
                SELECT (SELECT min(workspace_id) FROM {table} WHERE workspace_id > seen.id)
                FROM seen WHERE seen.id IS NOT NULL
            )
            SELECT id FROM seen WHERE id IS NOT NULL
        ) AS {table}_workspaces"""


# Executions and audit entries may name a workspace that has no row of its own (one made
# by the CLI on the database, or a test's): those are pruned under the defaults too.
_KNOWN_WORKSPACES = text(
    " UNION ".join(
        [
            "SELECT id FROM workspaces",
            "SELECT workspace_id FROM retention_policies",
            _distinct_workspaces("executions"),
            _distinct_workspaces("audit_log"),
        ]
    )
)
