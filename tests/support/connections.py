"""Helpers for tests of connection handling: waiting on a condition the server will make
true, ending a backend, letting a pooled connection sit idle, counting pool pings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.postgres.pool_checks import ping_idle_connections
from adapters.postgres.urls import libpq_conninfo, sqlalchemy_url

DEADLINE = 10.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Return once `check()` is true; fail after `DEADLINE` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def backend_state(admin: psycopg.AsyncConnection[Any], pid: int) -> str | None:
    """What backend `pid` is doing (`active`, `idle`, …), or None once it has ended."""
    cursor = await admin.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
    row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def backend_gone(admin: psycopg.AsyncConnection[Any], pid: int) -> None:
    async def gone() -> bool:
        return await backend_state(admin, pid) is None

    await eventually(gone, f"backend {pid} to end")


async def terminate(url: str, pid: int) -> None:
    """Have the server end backend `pid` and wait until it is gone."""
    async with await psycopg.AsyncConnection.connect(libpq_conninfo(url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await backend_gone(admin, pid)


async def idle_past(threshold: float, since: float) -> None:
    """Let a returned connection sit idle until `threshold` seconds after `since` (the idle
    time itself is what the tests using this exercise)."""
    while (remaining := since + threshold - time.monotonic()) >= 0:
        await asyncio.sleep(remaining + 0.001)


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
