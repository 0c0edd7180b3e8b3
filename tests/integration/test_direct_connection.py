"""The work queue's own connection: statements commit at once, take turns, survive a lost
backend with one retry, and are not retried when the statement itself is at fault.

Each test gets a fresh `DirectConnection` on this module's database; what it did is read
back through a separate administrative connection, never through the one under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from adapters.postgres.direct import DirectConnection
from adapters.postgres.urls import libpq_conninfo
from application.errors import StorageError
from tests.support.connections import (
    DEADLINE,
    backend_gone,
    backend_state,
    eventually,
    terminate,
)
from tests.support.databases import drop_database, fresh_database_url

TAKERS = 20  # coroutines sharing the connection at once

_PREPARE = """
DROP TABLE IF EXISTS marks;
DROP SEQUENCE IF EXISTS attempts;
CREATE TABLE marks (label text NOT NULL);
CREATE SEQUENCE attempts
"""


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_direct")
    yield url
    drop_database(url)


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """Another connection to the same database, to see what the one under test did."""
    connection = await psycopg.AsyncConnection.connect(
        libpq_conninfo(database_url), autocommit=True
    )
    async with connection:
        await connection.execute(_PREPARE)
        yield connection


@pytest.fixture
async def statements(
    database_url: str, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> AsyncIterator[DirectConnection]:
    """The connection under test (after `admin` has prepared the table and sequence)."""
    connection = DirectConnection(libpq_conninfo(database_url))
    try:
        yield connection
    finally:
        await connection.close()


async def backend_pid(statements: DirectConnection) -> int:
    rows = await statements.fetch("SELECT pg_backend_pid() AS pid", ())
    pid: int = rows[0]["pid"]
    return pid


async def scalar(
    admin: psycopg.AsyncConnection[tuple[object, ...]], sql: str, params: tuple[object, ...] = ()
) -> object:
    cursor = await admin.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def attempts_made(admin: psycopg.AsyncConnection[tuple[object, ...]]) -> int:
    """How many times `nextval('attempts')` ran (sequences advance even when rolled back)."""
    cursor = await admin.execute("SELECT last_value, is_called FROM attempts")
    row = await cursor.fetchone()
    assert row is not None
    last_value, is_called = row
    return int(last_value) if is_called else 0  # type: ignore[call-overload]


async def backend_active(admin: psycopg.AsyncConnection[tuple[object, ...]], pid: int) -> None:
    async def active() -> bool:
        return await backend_state(admin, pid) == "active"

    await eventually(active, f"backend {pid} to start its statement")


async def test_a_statement_is_committed_as_soon_as_it_ran(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    rows = await statements.fetch(
        "INSERT INTO marks (label) VALUES (%(label)s) RETURNING label", {"label": "first"}
    )

    assert rows == [{"label": "first"}]  # rows come back as dicts
    assert await scalar(admin, "SELECT count(*) FROM marks WHERE label = 'first'") == 1


async def test_a_statement_without_rows_returns_an_empty_list(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    assert await statements.fetch("INSERT INTO marks (label) VALUES (%s)", ("quiet",)) == []
    assert await scalar(admin, "SELECT count(*) FROM marks WHERE label = 'quiet'") == 1


async def test_concurrent_statements_take_turns_on_one_backend(
    statements: DirectConnection,
) -> None:
    results = await asyncio.gather(
        *(
            statements.fetch("SELECT pg_backend_pid() AS pid, %s::int AS n", (n,))
            for n in range(TAKERS)
        )
    )

    assert [rows[0]["n"] for rows in results] == list(range(TAKERS))
    assert len({rows[0]["pid"] for rows in results}) == 1


async def test_after_the_server_ends_its_backend_the_next_statement_runs_on_a_new_one(
    statements: DirectConnection, database_url: str
) -> None:
    ended = await backend_pid(statements)
    await terminate(database_url, ended)

    replacement = await backend_pid(statements)  # the first try fails; the retry reconnects

    assert replacement != ended
    assert await backend_pid(statements) == replacement  # and the new one is kept


async def test_concurrent_statements_after_a_lost_backend_share_one_replacement(
    statements: DirectConnection, database_url: str
) -> None:
    ended = await backend_pid(statements)
    await terminate(database_url, ended)

    results = await asyncio.gather(
        *(statements.fetch("SELECT pg_backend_pid() AS pid", ()) for _ in range(TAKERS))
    )

    pids = {rows[0]["pid"] for rows in results}
    assert len(pids) == 1
    assert ended not in pids


async def test_a_statement_that_fails_by_itself_raises_storage_error_and_is_not_retried(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    before = await backend_pid(statements)

    with pytest.raises(StorageError) as caught:
        await statements.fetch("SELECT nextval('attempts') / 0 AS never", ())

    # A data exception is the statement's fault: its text stays on the chained driver error.
    assert "division by zero" in str(caught.value.__cause__ or caught.value.__context__)

    assert await attempts_made(admin) == 1
    assert await backend_pid(statements) == before  # the connection was not replaced


async def test_a_syntax_error_raises_storage_error_and_keeps_the_connection(
    statements: DirectConnection,
) -> None:
    before = await backend_pid(statements)

    with pytest.raises(StorageError):
        await statements.fetch("SELEC 1", ())

    assert await backend_pid(statements) == before


async def test_a_statement_that_loses_its_connection_every_time_is_tried_twice(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    suicidal = "SELECT nextval('attempts'), pg_terminate_backend(pg_backend_pid())"

    with pytest.raises(StorageError):
        await statements.fetch(suicidal, ())

    assert await attempts_made(admin) == 2  # the first try and one retry
    assert await backend_pid(statements) > 0  # and the connection after that is a new one


async def test_no_retry_when_retries_is_zero(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    suicidal = "SELECT nextval('attempts'), pg_terminate_backend(pg_backend_pid())"

    with pytest.raises(StorageError):
        await statements.fetch(suicidal, (), retries=0)

    assert await attempts_made(admin) == 1


async def test_a_statement_cancelled_by_its_timeout_is_not_retried_on_a_new_connection(
    database_url: str, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    # A server-side cancellation (SQLSTATE 57014) is the statement's failure, not the
    # connection's: the connection is fine and running the statement again cannot help.
    timed = make_conninfo(libpq_conninfo(database_url), options="-c statement_timeout=50")
    statements = DirectConnection(timed)
    try:
        before = await backend_pid(statements)
        with pytest.raises(StorageError, match="statement timeout"):
            await statements.fetch("SELECT nextval('attempts'), pg_sleep(5)", ())

        assert await attempts_made(admin) == 1
        assert await backend_pid(statements) == before
    finally:
        await statements.close()


async def test_close_ends_the_backend_and_a_later_statement_reconnects(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    closed = await backend_pid(statements)

    await statements.close()
    await backend_gone(admin, closed)

    assert await backend_pid(statements) != closed


async def test_a_cancelled_statement_leaves_the_connection_usable(
    statements: DirectConnection, admin: psycopg.AsyncConnection[tuple[object, ...]]
) -> None:
    pid = await backend_pid(statements)
    sleeper = asyncio.create_task(statements.fetch("SELECT pg_sleep(30)", ()))
    await backend_active(admin, pid)

    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper

    rows = await asyncio.wait_for(statements.fetch("SELECT 1 AS one", ()), DEADLINE)
    assert rows == [{"one": 1}]
