"""The PostgreSQL unit of work: one connection, one transaction, rolled back unless committed.

Notifications queued with `notify_after_commit` are sent with `pg_notify` inside the
transaction just before COMMIT: PostgreSQL delivers them only if the commit lands.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.database import Db, connect, translated_errors
from adapters.postgres.pool_checks import IDLE_BEFORE_PING
from adapters.postgres.repositories.accounts import (
    PostgresSecrets,
    PostgresTokens,
    PostgresWorkspaces,
)
from adapters.postgres.repositories.audit import PostgresAudit
from adapters.postgres.repositories.catalog import PostgresSchedules, PostgresWorkflows
from adapters.postgres.repositories.executions import PostgresExecutions
from adapters.postgres.repositories.flow_control import PostgresFlowControl
from adapters.postgres.repositories.history import (
    PostgresEvents,
    PostgresNodeRuns,
    PostgresSignals,
)
from adapters.postgres.repositories.node_kinds import PostgresNodeKinds
from adapters.postgres.repositories.people import PostgresPeople, PostgresSessions
from adapters.postgres.repositories.triggers import PostgresTriggers
from application.ports.clock import Clock


def notification_payload(payload: Mapping[str, Any]) -> str:
    return json.dumps(dict(payload), separators=(",", ":"), default=str)


class PooledConnections:
    """Each unit of work checks a connection out of the pool and gives it back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def acquire(self) -> AsyncConnection:
        return await connect(self._engine)

    async def release(self, connection: AsyncConnection, *, broken: bool) -> None:
        with contextlib.suppress(Exception):
            await connection.close()


class KeptConnection:
    """Units of work used one at a time share one connection, kept between them.

    For the worker's group committer, which runs one transaction at a time: checking a
    connection out of the pool and back costs more Python than a short transaction's
    statements. A connection that failed or sat idle longer than the pool's ping threshold
    goes back to the pool, and the next unit of work takes a checked one from there.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._kept: AsyncConnection | None = None
        self._idle_since = 0.0
        self._in_use = False

    async def acquire(self) -> AsyncConnection:
        if self._in_use:
            raise RuntimeError("a kept connection serves one unit of work at a time")
        kept, self._kept = self._kept, None
        if kept is not None and time.monotonic() - self._idle_since > IDLE_BEFORE_PING:
            kept = await _alive_or_dropped(kept)
        connection = kept or await connect(self._engine)
        self._in_use = True
        return connection

    async def release(self, connection: AsyncConnection, *, broken: bool) -> None:
        self._in_use = False
        if broken or connection.invalidated:
            await _close_quietly(connection)
            return
        self._kept = connection
        self._idle_since = time.monotonic()

    async def close(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            await _close_quietly(kept)


async def _alive_or_dropped(connection: AsyncConnection) -> AsyncConnection | None:
    """Ping a connection that sat idle; a dead one is invalidated (the pool discards it:
    handing it back would not check it, since it was returned only a moment before)."""
    try:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute("SELECT 1")
        await driver.rollback()
    except Exception:
        with contextlib.suppress(Exception):
            await connection.invalidate()
        await _close_quietly(connection)
        return None
    return connection


async def _close_quietly(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()


class ConnectionSource(Protocol):
    async def acquire(self) -> AsyncConnection: ...

    async def release(self, connection: AsyncConnection, *, broken: bool) -> None: ...


class PostgresUnitOfWork:
    def __init__(self, source: ConnectionSource, clock: Clock) -> None:
        self._source = source
        self._db = Db(clock)
        self._connection: AsyncConnection | None = None
        self._notifications: list[tuple[str, Mapping[str, Any]]] = []
        self._committed = False
        self._lazy = False
        self.workflows = PostgresWorkflows(self._db)
        self.executions = PostgresExecutions(self._db)
        self.node_runs = PostgresNodeRuns(self._db)
        self.flow = PostgresFlowControl(self._db)
        self.events = PostgresEvents(self._db)
        self.signals = PostgresSignals(self._db)
        self.schedules = PostgresSchedules(self._db)
        self.triggers = PostgresTriggers(self._db)
        self.workspaces = PostgresWorkspaces(self._db)
        self.tokens = PostgresTokens(self._db)
        self.secrets = PostgresSecrets(self._db)
        self.node_kinds = PostgresNodeKinds(self._db)
        self.audit = PostgresAudit(self._db)
        self.people = PostgresPeople(self._db)
        self.sessions = PostgresSessions(self._db)

    async def __aenter__(self) -> Self:
        connection = await self._source.acquire()
        try:
            with translated_errors():
                await connection.begin()
        except BaseException:
            await self._source.release(connection, broken=True)
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
        broken = False
        if not self._committed:
            try:
                await connection.rollback()
            except Exception:
                # A broken connection cannot roll back, but the server already has.
                broken = True
        await self._source.release(connection, broken=broken or exc_type is not None)

    async def commit(self) -> None:
        connection = self._db.connection
        if self._notifications or self._lazy:
            await self._db.notify_and_commit(
                [(channel, notification_payload(p)) for channel, p in self._notifications],
                lazy=self._lazy,
            )
        with translated_errors():
            await connection.commit()  # a no-op on the wire after notify_and_commit
        self._notifications.clear()
        self._committed = True

    def commit_without_waiting_for_disk(self) -> None:
        self._lazy = True

    def notify_after_commit(self, channel: str, payload: Mapping[str, Any]) -> None:
        self._notifications.append((channel, payload))


class PostgresUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._pooled = PooledConnections(engine)

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pooled, self.clock)

    def one_at_a_time(self) -> KeptUnitOfWorkFactory:
        """A factory for a caller that uses one unit of work at a time (a connection kept)."""
        return KeptUnitOfWorkFactory(KeptConnection(self.engine), self.clock)


class KeptUnitOfWorkFactory:
    def __init__(self, source: KeptConnection, clock: Clock) -> None:
        self._source = source
        self.clock = clock

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._source, self.clock)

    async def close(self) -> None:
        await self._source.close()
