"""The kinds the workers have, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, select
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres.database import Db
from adapters.postgres.mappers import as_utc
from adapters.postgres.tables import node_kinds
from application.ports.node_kinds import KindDescription, RegisteredKind


class PostgresNodeKinds:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def register(self, kinds: Sequence[KindDescription], now: datetime) -> None:
        if not kinds:
            return
        rows = [_kind_to_row(kind, now) for kind in kinds]
        statement = insert(node_kinds).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["name"],
            set_={key: statement.excluded[key] for key in rows[0] if key != "name"},
        )
        await self._db.execute(statement)

    async def registered(self) -> list[RegisteredKind]:
        rows = await self._db.rows(select(node_kinds).order_by(node_kinds.c.name))
        return [_row_to_kind(row) for row in rows]


def _kind_to_row(kind: KindDescription, now: datetime) -> dict[str, object]:
    return {
        "name": kind.name,
        "title": kind.title,
        "description": kind.description,
        "config_schema": dict(kind.config_schema) if kind.config_schema is not None else None,
        "example": dict(kind.example) if kind.example is not None else None,
        "package": kind.package,
        "last_seen_at": now,
    }


def _row_to_kind(row: RowMapping) -> RegisteredKind:
    description = KindDescription(
        name=row["name"],
        title=row["title"],
        description=row["description"],
        config_schema=row["config_schema"],
        example=row["example"],
        package=row["package"],
    )
    return RegisteredKind(description, as_utc(row["last_seen_at"]))
