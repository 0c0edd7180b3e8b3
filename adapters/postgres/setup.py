"""Everything the engine needs from PostgreSQL, built from one URL: engine, units of work,
work queue and the LISTEN connection that wakes workers."""

from __future__ import annotations

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
from adapters.postgres.urls import libpq_conninfo, sqlalchemy_url
from adapters.postgres.wake_routing import WakeRouter, new_slot
from application.creation import WORK_CHANNEL
from application.ports.clock import Clock


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine on psycopg 3; pooled connections that sat idle are checked on checkout
    and replaced when closed (`pool_checks`)."""
    engine = create_async_engine(
        sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True
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
    ) -> None:
        """`queues`: the queues this process's work queue claims from (all when empty);
        `kinds`: the installed kinds its workers have (None: claim whatever executions need)."""
        self.url = sqlalchemy_url(url)
        self.clock = clock
        self.engine = create_engine(self.url, pool_size)
        self.uow_factory = PostgresUnitOfWorkFactory(self.engine, clock)
        self.commit_uow_factory = self.uow_factory.one_at_a_time()
        """For the worker's group committer, which runs one transaction at a time."""
        # Worker processes route work notifications among themselves. The membership locks
        # come and go with real sessions, so they are read again in real time even when
        # the engine's timestamps come from a fake clock.
        router = WakeRouter(new_slot(), SystemClock()) if runs_worker else None
        membership = router.membership if router is not None else None
        self.listener = PostgresListener(libpq_conninfo(self.url), channels, membership=membership)
        statements = DirectConnection(libpq_conninfo(self.url))
        self.queue = PostgresWorkQueue(statements, clock, self.listener, router, queues, kinds)
        conninfo = libpq_conninfo(self.url)
        self.run_inserts = PostgresRunInserts(DirectConnections(conninfo, pool_size))
        """Run requests in one round trip, on connections of their own (opened when used)."""

    async def start(self) -> None:
        """Check the schema is current (SchemaOutOfDate if not), then start listening."""
        await ensure_schema_current(self.engine)
        await self.listener.start()

    async def close(self) -> None:
        await self.listener.close()
        await self.queue.close()
        await self.run_inserts.close()
        await self.commit_uow_factory.close()
        await self.engine.dispose()
