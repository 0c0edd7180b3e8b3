"""Everything the engine needs from PostgreSQL, built from one URL: engine, units of work,
work queue and the LISTEN connection that wakes workers.

Through a transaction-mode pooler (`urls.is_transaction_pooler`) every connection goes
without server-side prepared statements, and the two things that need a session of their
own, the LISTEN connection and the worker's membership lock, use the session URL (a
direct or session-mode connection). Without one, workers find work by polling and a dead
worker's executions are taken when its leases lapse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.clock import SystemClock
from adapters.postgres.direct import DirectConnection, DirectConnections
from adapters.postgres.listener import PostgresListener
from adapters.postgres.pool_checks import ping_idle_connections
from adapters.postgres.queue import PostgresWorkQueue
from adapters.postgres.run_inserts import PostgresRunInserts
from adapters.postgres.schema_version import ensure_schema_current
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.urls import (
    driver_options,
    driver_url,
    is_transaction_pooler,
    libpq_conninfo,
    sqlalchemy_url,
)
from adapters.postgres.wake_routing import WakeRouter, new_slot
from application.creation import WORK_CHANNEL
from application.ports.clock import Clock

logger = logging.getLogger(__name__)

NO_SESSION_URL = (
    "the database URL is a transaction pooler and no session URL is set "
    "(TREADLE_SESSION_DATABASE_URL): workers find new work by polling every poll interval, "
    "a dead worker's executions wait for its leases to expire, and live event streams are "
    "not pushed"
)


def create_engine(
    url: str, pool_size: int = 10, *, transaction_pooler: bool | None = None
) -> AsyncEngine:
    """An async engine on psycopg 3; pooled connections that sat idle are checked on checkout
    and replaced when closed (`pool_checks`). `transaction_pooler`: whether `url` is one
    (detected from the URL when None): then no statement is prepared on the server."""
    if transaction_pooler is None:
        transaction_pooler = is_transaction_pooler(url)
    engine = create_async_engine(
        driver_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_use_lifo=True,
        connect_args=driver_options(transaction_pooler),
    )
    ping_idle_connections(engine)
    return engine


class PostgresAdapters:
    """The PostgreSQL adapter set; `start()` before use, `close()` when done."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        pool_size: int = 10,
        channels: Sequence[str] = (WORK_CHANNEL,),
        *,
        runs_worker: bool = False,
        queues: Sequence[str] = (),
        kinds: Sequence[str] | None = None,
        session_url: str | None = None,
        pooler: str = "auto",
    ) -> None:
        """`queues`: the queues this process's work queue claims from (all when empty);
        `kinds`: the installed kinds its workers have (None: claim whatever executions need).
        `session_url`: a direct or session-mode connection to the same database, for the
        LISTEN connection and the membership lock (by default `url`); `pooler`: whether
        `url` is a transaction pooler (`urls.POOLER_MODES`; `auto` detects it)."""
        self.url = sqlalchemy_url(url)
        self.clock = clock
        self.transaction_pooler = is_transaction_pooler(url, pooler)
        self.engine = create_engine(url, pool_size, transaction_pooler=self.transaction_pooler)
        self.uow_factory = PostgresUnitOfWorkFactory(self.engine, clock)
        self.commit_uow_factory = self.uow_factory.one_at_a_time()
        """For the worker's group committer, which runs one transaction at a time."""
        session_conninfo = self._session_conninfo(session_url)
        # Worker processes route work notifications among themselves. The membership locks
        # come and go with real sessions, so they are read again in real time even when
        # the engine's timestamps come from a fake clock.
        routed = runs_worker and session_conninfo is not None
        router = WakeRouter(new_slot(), SystemClock()) if routed else None
        membership = router.membership if router is not None else None
        self.listener = PostgresListener(session_conninfo, channels, membership=membership)
        conninfo = libpq_conninfo(self.url)
        statements = DirectConnection(conninfo, transaction_pooler=self.transaction_pooler)
        self.queue = PostgresWorkQueue(statements, clock, self.listener, router, queues, kinds)
        inserts = DirectConnections(conninfo, pool_size, transaction_pooler=self.transaction_pooler)
        self.run_inserts = PostgresRunInserts(inserts)
        """Run requests in one round trip, on connections of their own (opened when used)."""

    def _session_conninfo(self, session_url: str | None) -> str | None:
        """Where the LISTEN connection and the membership lock go: the session URL when
        given, else the database URL unless it is a transaction pooler (None: nowhere)."""
        if session_url:
            return libpq_conninfo(session_url)
        if self.transaction_pooler:
            logger.warning(NO_SESSION_URL)
            return None
        return libpq_conninfo(self.url)

    async def start(self) -> None:
        """Check the schema is current (SchemaOutOfDate if not), then start listening. A
        start that fails closes what it opened, so a caller retrying it leaks nothing."""
        try:
            await ensure_schema_current(self.engine)
            await self.listener.start()
        except BaseException:
            # The failure to start is what the caller must see, not one to clean up after it.
            with contextlib.suppress(Exception):
                await self.close()
            raise

    async def close(self) -> None:
        await self.listener.close()
        await self.queue.close()
        await self.run_inserts.close()
        await self.commit_uow_factory.close()
        await self.engine.dispose()
