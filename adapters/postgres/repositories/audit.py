"""The audit log in PostgreSQL: one row per change, read newest first by (at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import ColumnElement, and_, insert, or_, select

from adapters.postgres.database import Db
from adapters.postgres.hot_sql import AUDITED_EXECUTION, dumps_json
from adapters.postgres.mappers import Row, as_utc
from adapters.postgres.tables import audit_log
from application.audit import Actor, ActorKind, AuditEntry, AuditFilter


def entry_to_row(entry: AuditEntry) -> dict[str, Any]:
    """The columns of an entry (the id is the table's to give)."""
    return {
        "workspace_id": entry.workspace_id,
        "at": entry.at,
        "actor_kind": entry.actor.kind.value,
        "actor_id": entry.actor.id,
        "actor_name": entry.actor.name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": dict(entry.details),
    }


def audit_parameters(entry: AuditEntry) -> dict[str, Any]:
    """The entry as the `audit_*` parameters of plain SQL (see `hot_sql.AUDITED_EXECUTION`)."""
    row = entry_to_row(entry)
    row["details"] = Jsonb(row["details"], dumps=dumps_json)
    return {f"audit_{name}": value for name, value in row.items()}


INSERT_AUDIT = "WITH new_execution AS (SELECT 1)" + AUDITED_EXECUTION + " SELECT 1 AS added"
"""One entry (`audit_parameters`) as plain SQL, for writers outside a unit of work."""


def row_to_entry(row: Row) -> AuditEntry:
    return AuditEntry(
        workspace_id=row["workspace_id"],
        at=as_utc(row["at"]),
        actor=Actor(ActorKind(row["actor_kind"]), row["actor_id"] or "", row["actor_name"] or ""),
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        details=row["details"] or {},
        id=row["id"],
    )


class PostgresAudit:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, entry: AuditEntry) -> None:
        await self._db.execute(insert(audit_log).values(entry_to_row(entry)))

    async def search(
        self,
        workspace_id: str,
        where: AuditFilter,
        *,
        limit: int = 50,
        before: tuple[datetime, int] | None = None,
    ) -> list[AuditEntry]:
        conditions = [audit_log.c.workspace_id == workspace_id, *_conditions(where)]
        if before is not None:
            at, entry_id = before
            conditions.append(
                or_(audit_log.c.at < at, and_(audit_log.c.at == at, audit_log.c.id < entry_id))
            )
        statement = (
            select(audit_log)
            .where(*conditions)
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(limit)
        )
        return [row_to_entry(row) for row in await self._db.rows(statement)]


def _conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    """The filter's given fields as conditions on the table."""
    columns = audit_log.c
    equal = {
        columns.action: where.action,
        columns.object_type: where.object_type,
        columns.object_id: where.object_id,
        columns.actor_id: where.actor_id,
    }
    conditions = [column == value for column, value in equal.items() if value is not None]
    if where.since is not None:
        conditions.append(columns.at >= where.since)
    if where.until is not None:
        conditions.append(columns.at < where.until)
    return conditions
