"""Units of work used one at a time share a kept connection, which goes back to the pool
when a unit of work fails, when it sat idle too long, and when the factory closes.

The engine has a pool of one with the production idle check installed (pooled connections
idle past the threshold are pinged on checkout), so a connection given back is the one
the pool hands out next. Which connection a unit of work got is read from its `Db`, the
object its repositories share.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.clock import FakeClock
from adapters.postgres.unit_of_work import (
    KeptUnitOfWorkFactory,
    PostgresUnitOfWork,
    PostgresUnitOfWorkFactory,
)
from application.errors import StorageError
from tests.support.connections import checked_engine, idle_past, terminate
from tests.support.databases import drop_database, fresh_database_url

SHORT_IDLE = 0.01  # seconds: an idle limit a test can wait past at once


class Failure(Exception):
    """Raised inside a unit of work to end it with an exception."""


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_kept")
    yield url
    drop_database(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A one-connection engine whose pool pings connections idle past `SHORT_IDLE`."""
    async with checked_engine(database_url, SHORT_IDLE) as (engine, _pings):
        yield engine


@pytest.fixture
async def uow(engine: AsyncEngine) -> AsyncIterator[KeptUnitOfWorkFactory]:
    factory = PostgresUnitOfWorkFactory(engine, FakeClock()).one_at_a_time()
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
def short_idle(monkeypatch: pytest.MonkeyPatch) -> float:
    """Keep a connection only while it has been idle for less than `SHORT_IDLE`, the same
    limit as the pool's (as in production, where both are `IDLE_BEFORE_PING`)."""
    monkeypatch.setattr("adapters.postgres.unit_of_work.IDLE_BEFORE_PING", SHORT_IDLE)
    return SHORT_IDLE


async def backend_pid(tx: PostgresUnitOfWork) -> int:
    rows = await tx._db.fetch("SELECT pg_backend_pid() AS pid", ())
    pid: int = rows[0]["pid"]
    return pid


def connection_of(tx: PostgresUnitOfWork) -> AsyncConnection:
    return tx._db.connection


async def one_unit_of_work(uow: KeptUnitOfWorkFactory) -> tuple[AsyncConnection, int]:
    """Run a committed unit of work; the connection it ran on and its backend."""
    async with uow() as tx:
        pid = await backend_pid(tx)
        await tx.commit()
        return connection_of(tx), pid


def checked_out(engine: AsyncEngine) -> int:
    return engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined,no-any-return]


async def test_successive_units_of_work_share_one_connection_and_backend(
    uow: KeptUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    first_connection, first_pid = await one_unit_of_work(uow)
    assert checked_out(engine) == 1  # kept between units of work, not given back

    second_connection, second_pid = await one_unit_of_work(uow)

    assert second_connection is first_connection
    assert second_pid == first_pid


async def test_a_unit_of_work_ended_by_an_exception_gives_its_connection_back(
    uow: KeptUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    with pytest.raises(Failure):
        async with uow() as tx:
            failed = connection_of(tx)
            await backend_pid(tx)
            raise Failure
    assert checked_out(engine) == 0

    after, _ = await one_unit_of_work(uow)

    assert after is not failed


async def test_a_live_connection_kept_idle_too_long_is_checked_and_kept(
    uow: KeptUnitOfWorkFactory, short_idle: float
) -> None:
    idle, pid = await one_unit_of_work(uow)
    await idle_past(short_idle, time.monotonic())

    again, same_pid = await one_unit_of_work(uow)

    assert again is idle
    assert same_pid == pid


async def test_a_kept_connection_ended_by_the_server_while_idle_does_not_fail_the_next_unit(
    uow: KeptUnitOfWorkFactory, database_url: str, short_idle: float
) -> None:
    _, ended = await one_unit_of_work(uow)
    idle_from = time.monotonic()
    await terminate(database_url, ended)
    await idle_past(short_idle, idle_from)

    _, replacement = await one_unit_of_work(uow)

    assert replacement != ended


async def test_a_kept_connection_ended_by_the_server_within_the_limit_costs_one_unit_of_work(
    uow: KeptUnitOfWorkFactory, database_url: str
) -> None:
    _, ended = await one_unit_of_work(uow)
    await terminate(database_url, ended)  # not idle long enough to be given back unchecked

    with pytest.raises(StorageError):
        await one_unit_of_work(uow)
    _, replacement = await one_unit_of_work(uow)

    assert replacement != ended


async def test_a_second_unit_of_work_cannot_start_while_the_first_is_open(
    uow: KeptUnitOfWorkFactory,
) -> None:
    async with uow() as first:
        pid = await backend_pid(first)
        with pytest.raises(RuntimeError):
            async with uow():
                pass
        assert await backend_pid(first) == pid  # the first is unharmed
        await first.commit()

    _, after = await one_unit_of_work(uow)
    assert after == pid  # and the connection is still kept


async def test_closing_the_factory_gives_the_kept_connection_back(
    uow: KeptUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    kept, _ = await one_unit_of_work(uow)
    assert checked_out(engine) == 1

    await uow.close()

    assert checked_out(engine) == 0
    assert kept.closed
