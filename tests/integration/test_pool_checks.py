"""Pooled connections are pinged only after sitting idle, and a closed one is replaced.

Each test builds its own one-connection engine, so the connection a unit of work gets is
the one the test handled before; pings are counted by wrapping the dialect's `do_ping`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.clock import FakeClock
from adapters.postgres.migrate import upgrade
from adapters.postgres.pool_checks import ping_idle_connections
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.urls import libpq_conninfo, sqlalchemy_url
from application.errors import StorageError
from tests.support.databases import drop_database, fresh_database_url

SHORT_IDLE = 0.05  # seconds: a threshold a test can wait past without slowing the suite
LONG_IDLE = 600.0  # seconds: a threshold no test outlasts
DEADLINE = 10.0


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_pool_checks")
    upgrade(url)
    yield url
    drop_database(url)


class PingCounter:
    """Stands in for the dialect's `do_ping`, counting the pings it passes on."""

    def __init__(self, ping: Any) -> None:
        self._ping = ping
        self.count = 0

    def __call__(self, dbapi_connection: Any) -> Any:
        self.count += 1
        return self._ping(dbapi_connection)


@asynccontextmanager
async def checked_engine(
    url: str, idle_before_ping: float
) -> AsyncIterator[tuple[AsyncEngine, PingCounter]]:
    """A one-connection engine with the idle check installed, and its ping counter."""
    engine = create_async_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_before_ping=idle_before_ping)
    pings = PingCounter(engine.dialect.do_ping)
    engine.dialect.do_ping = pings  # type: ignore[method-assign]
    try:
        yield engine, pings
    finally:
        await engine.dispose()


async def pooled_backend_pid(engine: AsyncEngine) -> int:
    """The server process of the pooled connection (checked out, then returned)."""
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def terminate(url: str, pid: int) -> None:
    """Have the server end backend `pid` and wait until it is gone."""
    async with await psycopg.AsyncConnection.connect(libpq_conninfo(url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + DEADLINE
        while True:
            cursor = await admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"backend {pid} did not end")
            await asyncio.sleep(0.01)


async def idle_past(threshold: float, since: float) -> None:
    """Let a returned connection sit idle until `threshold` seconds after `since`."""
    while (remaining := since + threshold - time.monotonic()) >= 0:
        await asyncio.sleep(remaining + 0.001)


async def a_unit_of_work_succeeds(engine: AsyncEngine) -> None:
    uow = PostgresUnitOfWorkFactory(engine, FakeClock())
    async with uow() as tx:
        assert await tx.executions.get("ex_missing") is None
        await tx.commit()


async def test_a_connection_closed_while_idle_is_replaced_on_the_next_checkout(
    database_url: str,
) -> None:
    async with checked_engine(database_url, SHORT_IDLE) as (engine, pings):
        closed = await pooled_backend_pid(engine)
        returned_at = time.monotonic()
        await terminate(database_url, closed)
        await idle_past(SHORT_IDLE, returned_at)

        await a_unit_of_work_succeeds(engine)  # the ping finds it closed; a new one serves

        assert pings.count == 1  # the replacement is fresh: it is not pinged
        assert await pooled_backend_pid(engine) != closed


async def test_a_healthy_connection_idle_past_the_threshold_is_pinged_once_and_kept(
    database_url: str,
) -> None:
    async with checked_engine(database_url, SHORT_IDLE) as (engine, pings):
        first = await pooled_backend_pid(engine)
        assert pings.count == 0  # a brand-new connection has not sat idle
        await idle_past(SHORT_IDLE, time.monotonic())

        await a_unit_of_work_succeeds(engine)

        assert pings.count == 1
        assert await pooled_backend_pid(engine) == first


async def test_a_connection_reused_within_the_threshold_is_not_pinged(database_url: str) -> None:
    async with checked_engine(database_url, LONG_IDLE) as (engine, pings):
        first = await pooled_backend_pid(engine)
        for _ in range(5):
            await a_unit_of_work_succeeds(engine)
        assert await pooled_backend_pid(engine) == first  # the same connection every time
        assert pings.count == 0


async def test_a_connection_closed_within_the_threshold_costs_one_failed_unit_of_work(
    database_url: str,
) -> None:
    async with checked_engine(database_url, LONG_IDLE) as (engine, pings):
        closed = await pooled_backend_pid(engine)
        await terminate(database_url, closed)

        with pytest.raises(StorageError):
            await a_unit_of_work_succeeds(engine)  # not pinged: its first statement fails
        await a_unit_of_work_succeeds(engine)

        assert pings.count == 0
        assert await pooled_backend_pid(engine) != closed
