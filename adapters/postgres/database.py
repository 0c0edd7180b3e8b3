"""Running statements on one connection, with driver errors turned into application errors.

Unique and foreign-key violations become `Conflict`; every other database failure (lost
connection, refused statement, pool exhausted) becomes `StorageError`, so the layers above
never see a driver exception.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy.exc as sa_exc
from psycopg import errors as pg_errors
from sqlalchemy import Executable, RowMapping
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.errors import Conflict, StorageError
from application.ports.clock import Clock

T = TypeVar("T")
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
        raise StorageError(f"the database failed: {_first_line(error)}") from error


def _integrity_error(error: sa_exc.IntegrityError) -> Exception:
    original = error.orig
    if isinstance(original, pg_errors.UniqueViolation | pg_errors.ForeignKeyViolation):
        constraint = getattr(getattr(original, "diag", None), "constraint_name", None)
        kind = "already exists" if isinstance(original, pg_errors.UniqueViolation) else "missing"
        return Conflict(f"a row this change needs {kind} (constraint {constraint})")
    return StorageError(f"the database refused the change: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def is_connection_error(error: BaseException) -> bool:
    """True when the failure was the connection itself (worth a retry if nothing committed)."""
    cause = error.__cause__ if isinstance(error, StorageError) else error
    if isinstance(cause, sa_exc.DBAPIError):
        return bool(cause.connection_invalidated) or isinstance(cause, sa_exc.OperationalError)
    return isinstance(cause, sa_exc.TimeoutError)


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

    def attach(self, connection: AsyncConnection | None) -> None:
        self._connection = connection

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


async def in_transaction(
    engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]], *, retries: int = 1
) -> T:
    """Run `work` in one short transaction and commit it.

    A lost connection before COMMIT is retried (nothing can have been written); a failure
    during COMMIT is not, since the transaction may have landed.
    """
    for attempt in range(retries + 1):
        connection = await connect(engine)
        try:
            try:
                with translated_errors():
                    await connection.begin()
                    result = await work(connection)
            except StorageError as error:
                if attempt < retries and is_connection_error(error):
                    continue
                raise
            with translated_errors():
                await connection.commit()
            return result
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
    raise AssertionError("unreachable")
