"""The PostgreSQL unit of work: one connection, one transaction, rolled back unless committed.

Notifications queued with `notify_after_commit` are sent with `pg_notify` inside the
transaction just before COMMIT: PostgreSQL delivers them only if the commit lands.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.database import Db, connect, translated_errors
from adapters.postgres.repositories.accounts import (
    PostgresSecrets,
    PostgresTokens,
    PostgresWorkspaces,
)
from adapters.postgres.repositories.catalog import PostgresSchedules, PostgresWorkflows
from adapters.postgres.repositories.executions import PostgresExecutions
from adapters.postgres.repositories.history import (
    PostgresEvents,
    PostgresNodeRuns,
    PostgresSignals,
)
from application.ports.clock import Clock


def notification_payload(payload: Mapping[str, Any]) -> str:
    return json.dumps(dict(payload), separators=(",", ":"), default=str)


class PostgresUnitOfWork:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._db = Db(clock)
        self._connection: AsyncConnection | None = None
        self._notifications: list[tuple[str, Mapping[str, Any]]] = []
        self._committed = False
        self.workflows = PostgresWorkflows(self._db)
        self.executions = PostgresExecutions(self._db)
        self.node_runs = PostgresNodeRuns(self._db)
        self.events = PostgresEvents(self._db)
        self.signals = PostgresSignals(self._db)
        self.schedules = PostgresSchedules(self._db)
        self.workspaces = PostgresWorkspaces(self._db)
        self.tokens = PostgresTokens(self._db)
        self.secrets = PostgresSecrets(self._db)

    async def __aenter__(self) -> Self:
        connection = await connect(self._engine)
        try:
            with translated_errors():
                await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._db.attach(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._db.attach(None)
        if connection is None:
            return
        try:
            if not self._committed:
                # A broken connection cannot roll back, but the server already has.
                with contextlib.suppress(Exception):
                    await connection.rollback()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def commit(self) -> None:
        connection = self._db.connection
        if self._notifications:
            await self._db.notify_and_commit(
                [(channel, notification_payload(p)) for channel, p in self._notifications]
            )
        with translated_errors():
            await connection.commit()  # a no-op on the wire after notify_and_commit
        self._notifications.clear()
        self._committed = True

    def notify_after_commit(self, channel: str, payload: Mapping[str, Any]) -> None:
        self._notifications.append((channel, payload))


class PostgresUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self.engine, self.clock)
