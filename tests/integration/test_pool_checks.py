"""Pooled connections are pinged only after sitting idle, and a closed one is replaced.

Each test builds its own one-connection engine, so the connection a unit of work gets is
the one the test handled before; pings are counted by wrapping the dialect's `do_ping`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FakeClock
from adapters.postgres.migrate import upgrade
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from application.errors import StorageError
from tests.support.connections import checked_engine, idle_past, terminate
from tests.support.databases import drop_database, fresh_database_url

SHORT_IDLE = 0.05  # seconds: a threshold a test can wait past without slowing the suite
LONG_IDLE = 600.0  # seconds: a threshold no test outlasts


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_pool_checks")
    upgrade(url)
    yield url
    drop_database(url)


async def pooled_backend_pid(engine: AsyncEngine) -> int:
    """The server process of the pooled connection (checked out, then returned)."""
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


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
