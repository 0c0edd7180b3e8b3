"""One autocommit driver connection for the work queue's one-statement transactions.

Claims, heartbeats, releases and wake-time look-ups are single statements that commit by
themselves. Sent through the pool, each paid for a checkout, an isolation-level switch and
a checkin in Python, more than the statement itself; on a connection of their own they
cost one round trip. Statements take turns on it; a lost connection is replaced and the
statement retried once (every statement sent here may safely run twice). Bulk runs send a
few statements in one transaction on it (`transaction`). Through a transaction pooler
nothing is prepared on the server (`urls.driver_options`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from adapters.postgres.database import fetch_rows, is_connection_error, translated_errors
from adapters.postgres.urls import conninfo_is_transaction_pooler, driver_options
from application.errors import StorageError


class DirectConnection:
    def __init__(self, conninfo: str, *, transaction_pooler: bool | None = None) -> None:
        """`transaction_pooler`: whether `conninfo` goes through one (None: it does when its
        port is the one Supabase's transaction pooler uses)."""
        self._conninfo = conninfo
        if transaction_pooler is None:
            transaction_pooler = conninfo_is_transaction_pooler(conninfo)
        self._options = driver_options(transaction_pooler)
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._turn = asyncio.Lock()

    async def fetch(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any], *, retries: int = 1
    ) -> list[Any]:
        """Run one statement as its own transaction; its rows as dicts."""
        async with self._turn:
            for attempt in range(retries + 1):
                try:
                    return await fetch_rows(await self._connected(), sql, params)
                except StorageError as error:
                    if not is_connection_error(error):
                        raise
                    await self._drop()
                    if attempt == retries:
                        raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Several statements in one transaction, committed when the block ends and rolled
        back if it raises. Never retried here: only the caller knows whether it is safe."""
        async with self._turn:
            try:
                connection = await self._connected()
                with translated_errors():
                    async with connection.transaction():
                        yield Transaction(connection)
            except StorageError as error:
                if is_connection_error(error):
                    await self._drop()
                raise

    async def close(self) -> None:
        async with self._turn:
            await self._drop()

    async def _connected(self) -> psycopg.AsyncConnection[Any]:
        if self._connection is None or self._connection.closed:
            with translated_errors():
                self._connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, **self._options
                )
        return self._connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class Transaction:
    """The statements of one `DirectConnection.transaction`."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
        """Run one statement in the transaction; its rows as dicts."""
        return await fetch_rows(self._connection, sql, params)


class DirectConnections:
    """A few `DirectConnection`s for callers that send statements concurrently: each
    statement takes the idle one used last (they connect when first used).

    Last in, first out: a light load keeps to one connection, whose server process is
    awake and warm, instead of rotating through all of them."""

    def __init__(self, conninfo: str, size: int, *, transaction_pooler: bool | None = None) -> None:
        self._all = [
            DirectConnection(conninfo, transaction_pooler=transaction_pooler) for _ in range(size)
        ]
        self._idle: asyncio.LifoQueue[DirectConnection] = asyncio.LifoQueue()
        for connection in self._all:
            self._idle.put_nowait(connection)

    async def fetch(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any], *, retries: int = 1
    ) -> list[Any]:
        """Run one statement as its own transaction on an idle connection; rows as dicts."""
        connection = await self._idle.get()
        try:
            return await connection.fetch(sql, params, retries=retries)
        finally:
            self._idle.put_nowait(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`DirectConnection.transaction` on an idle connection."""
        connection = await self._idle.get()
        try:
            async with connection.transaction() as transaction:
                yield transaction
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()
