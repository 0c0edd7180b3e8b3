"""Readiness on PostgreSQL: the database answers and its schema is this code's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.schema_version import ensure_schema_current


class SchemaReadiness:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> None:
        await ensure_schema_current(self._engine)
