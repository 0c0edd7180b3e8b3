"""One backend fixture, parametrized over the in-memory and PostgreSQL adapters.

Every contract test runs twice: on `adapters.memory` and on `adapters.postgres` against a
database migrated once per session and emptied before each test. Both share a FakeClock
that the test drives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from adapters.clock import FakeClock
from adapters.memory.queue import InMemoryWorkQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.postgres.direct import DirectConnection
from adapters.postgres.listener import PostgresListener
from adapters.postgres.migrate import upgrade
from adapters.postgres.queue import PostgresWorkQueue
from adapters.postgres.setup import PostgresAdapters
from adapters.postgres.tables import metadata
from adapters.postgres.urls import libpq_conninfo
from application.creation import EVENTS_CHANNEL, WORK_CHANNEL
from application.ports.queue import WorkQueue
from application.ports.run_inserts import RunInserts
from application.ports.unit_of_work import UnitOfWorkFactory
from application.run_inserts import InsertsThroughUnitOfWork
from tests.support.databases import drop_database, fresh_database_url, session_url_for

Subscriber = Callable[[str, Mapping[str, Any]], None]
_TRUNCATE = text(
    "TRUNCATE " + ", ".join(table.name for table in metadata.sorted_tables) + " CASCADE"
)


@dataclass
class Backend:
    """What a contract test gets: the adapter's clock, units of work and queue."""

    name: str
    clock: FakeClock
    uow: UnitOfWorkFactory
    queue: WorkQueue
    subscribe: Callable[[Subscriber], object]
    run_inserts: RunInserts
    queue_for: Callable[..., WorkQueue]
    """Another worker's queue, claiming only from the given queues (closed with the test);
    `kinds=` the installed kinds it has (it claims only executions needing no other)."""


@pytest.fixture(scope="session")
def contract_database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_contract")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    clock = FakeClock()
    if request.param == "memory":
        store = InMemoryStore(clock=clock)
        yield Backend(
            "memory",
            clock,
            InMemoryUnitOfWorkFactory(store),
            InMemoryWorkQueue(store),
            store.subscribers.append,
            InsertsThroughUnitOfWork(InMemoryUnitOfWorkFactory(store)),
            lambda queues, kinds=None: InMemoryWorkQueue(store, queues, kinds),
        )
        return
    url: str = request.getfixturevalue("contract_database_url")
    # Through a transaction pooler, the LISTEN connection goes to the server directly.
    channels = (WORK_CHANNEL, EVENTS_CHANNEL)
    session_url = session_url_for(url)
    adapters = PostgresAdapters(url, clock, pool_size=4, channels=channels, session_url=session_url)
    async with adapters.engine.begin() as connection:
        await connection.execute(_TRUNCATE)
    await adapters.start()
    others: list[PostgresWorkQueue] = []

    def queue_for(queues: Sequence[str], kinds: Sequence[str] | None = None) -> WorkQueue:
        conninfo = libpq_conninfo(url)
        # Its listener is never started: these queues claim, they do not wait for work.
        listener = PostgresListener(conninfo, (WORK_CHANNEL,))
        statements = DirectConnection(conninfo)
        others.append(PostgresWorkQueue(statements, clock, listener, None, queues, kinds))
        return others[-1]

    try:
        yield Backend(
            "postgres",
            clock,
            adapters.uow_factory,
            adapters.queue,
            adapters.listener.subscribe,
            adapters.run_inserts,
            queue_for,
        )
    finally:
        for other in others:
            await other.close()
        await adapters.close()
