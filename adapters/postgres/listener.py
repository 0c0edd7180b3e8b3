"""A dedicated LISTEN connection: wakes workers on new work and feeds live event streams.

One autocommit psycopg connection LISTENs on the given channels. Each notification goes
to every subscriber as `(channel, payload_dict)`; one on the work channel also sets
`work_available`. When the connection drops the listener reconnects with backoff and sets
`work_available` (notifications sent meanwhile are lost, so workers should look).

LISTEN and the membership lock live as long as the session: through a transaction pooler
they would land on whichever server session served that one statement. Without a session
connection to use (`conninfo` None) the listener never connects: nothing is heard, and
workers find work by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from application.creation import WORK_CHANNEL
from application.errors import StorageError

logger = logging.getLogger(__name__)

Subscriber = Callable[[str, Mapping[str, Any]], None]


class PostgresListener:
    def __init__(
        self,
        conninfo: str | None,
        channels: Sequence[str] = (WORK_CHANNEL,),
        *,
        work_channel: str = WORK_CHANNEL,
        keepalive_seconds: float = 30.0,
        max_backoff_seconds: float = 5.0,
        membership: tuple[int, int] | None = None,
    ) -> None:
        """`membership`: an advisory lock key (class, slot) held on the LISTEN connection,
        so that the processes listening for work can see each other in `pg_locks`.
        `conninfo`: a direct or session-mode connection (None: never listen)."""
        self._conninfo = conninfo
        self._channels = tuple(dict.fromkeys(channels))
        self._work_channel = work_channel
        self._keepalive = keepalive_seconds
        self._max_backoff = max_backoff_seconds
        self._membership = membership
        self.on_work: Callable[[Mapping[str, Any]], None] | None = None
        """Decides what a work notification wakes; by default it sets `work_available`."""
        self._subscribers: list[Subscriber] = []
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.work_available = asyncio.Event()
        self.listening = asyncio.Event()
        self.holds_membership = False
        """Whether the membership lock is held now (refused, or lost with the connection,
        it is not: the other workers could not tell this process from a dead one)."""

    @property
    def backend_pid(self) -> int | None:
        """The server process of the current LISTEN connection (None while disconnected)."""
        connection = self._connection
        return connection.info.backend_pid if connection and self.listening.is_set() else None

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for every notification; returns a function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._unsubscribe(subscriber)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscriber)

    async def start(self) -> None:
        """Connect and LISTEN (raising StorageError if the database is unreachable); without
        a connection to listen on, nothing."""
        if self._task is not None or self._conninfo is None:
            return
        self._closing = False
        try:
            await self._connect()
        except (psycopg.Error, OSError) as error:
            raise StorageError(f"the notification listener could not connect: {error}") from error
        self._task = asyncio.create_task(self._serve(), name="postgres-listener")

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()

    async def _connect(self) -> None:
        assert self._conninfo is not None
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            if self._membership is not None:
                # Held for as long as this connection lives: a dead process leaves at once.
                cursor = await connection.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", list(self._membership)
                )
                locked = await cursor.fetchone()
                self.holds_membership = bool(locked and locked[0])
            for channel in self._channels:
                await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self.listening.set()

    async def _disconnect(self) -> None:
        self.listening.clear()
        self.holds_membership = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _serve(self) -> None:
        backoff = 0.05
        while not self._closing:
            try:
                if self._connection is None:
                    await self._connect()
                    # Whatever was notified while we were away is lost: have workers look.
                    self.work_available.set()
                backoff = 0.05
                await self._pump(self._connection)
            except (psycopg.Error, OSError) as error:
                await self._disconnect()
                if self._closing:
                    return
                logger.warning("listener reconnecting in %.2fs: %s", backoff, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _pump(self, connection: psycopg.AsyncConnection[Any] | None) -> None:
        assert connection is not None
        while not self._closing:
            async for notify in connection.notifies(timeout=self._keepalive):
                self._dispatch(notify.channel, notify.payload)
            # A quiet spell: make sure the connection is still alive.
            await connection.execute("SELECT 1")

    def _dispatch(self, channel: str, raw: str) -> None:
        try:
            payload = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            payload = {"raw": raw}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        if channel == self._work_channel:
            if self.on_work is None:
                self.work_available.set()
            else:
                self.on_work(payload)
        for subscriber in list(self._subscribers):
            try:
                subscriber(channel, payload)
            except Exception:  # one broken subscriber must not silence the others
                logger.exception("a notification subscriber failed on %s", channel)
