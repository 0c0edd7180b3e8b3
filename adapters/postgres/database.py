"""Running statements on one connection, with driver errors turned into application errors.

Unique and foreign-key violations become `Conflict`; a value the database cannot hold
(SQLSTATE class 22) becomes `UnstorableValue`; every other database failure (lost
connection, refused statement, pool exhausted) becomes `StorageError`, so the layers above
never see a driver exception.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import psycopg
import sqlalchemy.exc as sa_exc
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy import Executable, RowMapping
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.errors import Conflict, StorageError, UnstorableValue
from application.ports.clock import Clock

CONNECT_ATTEMPTS = 3
_CONNECT_BACKOFF_SECONDS = 0.05


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise driver errors as `Conflict` or `StorageError`."""
    try:
        yield
    except sa_exc.IntegrityError as error:
        raise _integrity_error(error) from error
    except (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.ResourceClosedError) as error:
        raise _failure(error, getattr(error, "orig", None)) from error
    except psycopg.IntegrityError as error:  # statements sent straight to the driver
        raise _integrity_error(error) from error
    except psycopg.Error as error:
        raise _failure(error, error) from error


def _failure(error: BaseException, original: BaseException | None) -> StorageError:
    """A data exception (SQLSTATE class 22, or a value the driver cannot send, like a NUL
    character) is the request's fault, not an outage."""
    if isinstance(original, psycopg.DataError):
        return UnstorableValue()
    return StorageError(f"the database failed: {_first_line(error)}")


def _integrity_error(error: sa_exc.IntegrityError | psycopg.IntegrityError) -> Exception:
    original = error.orig if isinstance(error, sa_exc.IntegrityError) else error
    if isinstance(original, pg_errors.UniqueViolation | pg_errors.ForeignKeyViolation):
        constraint = getattr(getattr(original, "diag", None), "constraint_name", None)
        kind = "already exists" if isinstance(original, pg_errors.UniqueViolation) else "missing"
        return Conflict(f"a row this change needs {kind} (constraint {constraint})")
    return StorageError(f"the database refused the change: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def is_connection_error(error: BaseException) -> bool:
    """True when the failure was the connection itself (worth a retry if nothing committed).

    Not every `OperationalError` is one: a statement timeout, a lock or deadlock error, or
    a full disk arrive on a healthy connection, and running the statement again elsewhere
    would hide them.
    """
    cause = error.__cause__ if isinstance(error, StorageError) else error
    if isinstance(cause, sa_exc.DBAPIError):
        return bool(cause.connection_invalidated) or _lost_connection(cause.orig)
    return isinstance(cause, sa_exc.TimeoutError) or _lost_connection(cause)


def _lost_connection(error: BaseException | None) -> bool:
    if not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = error.sqlstate
    # No SQLSTATE: the client lost or could not open the connection. Class 08 is a
    # connection exception; 57P01-57P03: the server is shutting down or starting up.
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_GOING_AWAY


_SERVER_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})


async def connect(engine: AsyncEngine) -> AsyncConnection:
    """Check a connection out of the pool; retry a few times, since nothing has run yet."""
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            with translated_errors():
                return await engine.connect()
        except StorageError as error:
            if attempt == CONNECT_ATTEMPTS or not is_connection_error(error):
                raise
            await asyncio.sleep(_CONNECT_BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable")


class Db:
    """One transaction's connection as the repositories see it, plus the adapter's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._connection: AsyncConnection | None = None
        self._driver: psycopg.AsyncConnection[Any] | None = None

    def attach(self, connection: AsyncConnection | None) -> None:
        self._connection = connection
        self._driver = None

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with` before its repositories")
        return self._connection

    async def execute(
        self, statement: Executable, params: dict[str, Any] | Sequence[dict[str, Any]] | None = None
    ) -> CursorResult[Any]:
        with translated_errors():
            return await self.connection.execute(statement, params)

    async def count(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """How many rows a statement with RETURNING touched (the driver's rowcount is not
        reliable for every statement through the async adapter)."""
        result = await self.execute(statement, params)
        return len(result.all())

    async def rows(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> list[RowMapping]:
        result = await self.execute(statement, params)
        return list(result.mappings().all())

    async def first(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> RowMapping | None:
        result = await self.execute(statement, params)
        return result.mappings().first()

    async def driver(self) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection under this transaction's SQLAlchemy connection."""
        if self._driver is None:
            self._driver = await _driver_of(self.connection)
        return self._driver

    async def fetch(self, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
        """Run plain SQL on the driver, in this transaction (cheap: see `hot_sql`)."""
        return await fetch_rows(await self.driver(), sql, params)

    async def notify_and_commit(
        self, notifications: Sequence[tuple[str, str]], *, lazy: bool = False
    ) -> None:
        """Send `(channel, payload)` notifications and COMMIT in one round trip; `lazy`
        commits without waiting for the flush to disk (`synchronous_commit = off`).

        Without parameters psycopg uses the simple query protocol, which carries several
        statements in one message; the values are quoted by psycopg as literals.
        """
        notify = sql.SQL("SELECT pg_notify({}, {})")
        statements: list[sql.Composable] = [
            notify.format(sql.Literal(c), sql.Literal(p)) for c, p in notifications
        ]
        if lazy:
            statements.insert(0, sql.SQL("SET LOCAL synchronous_commit = off"))
        driver = await self.driver()
        with translated_errors():
            await driver.execute(sql.SQL("; ").join([*statements, sql.SQL("COMMIT")]))


async def _driver_of(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    with translated_errors():
        raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise StorageError("the pooled connection has no driver connection")
    return cast("psycopg.AsyncConnection[Any]", driver)


async def fetch_rows(
    driver: psycopg.AsyncConnection[Any], sql: str, params: Mapping[str, Any] | Sequence[Any]
) -> list[Any]:
    """Rows as dicts (an empty list for a statement that returns none)."""
    with translated_errors():
        cursor = driver.cursor(row_factory=dict_row)
        await cursor.execute(sql, params)
        return await cursor.fetchall() if cursor.description is not None else []
