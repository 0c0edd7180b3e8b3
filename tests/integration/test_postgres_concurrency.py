"""The PostgreSQL queue and listener under real concurrency, takeovers and lost connections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from adapters.clock import FakeClock
from adapters.postgres.listener import PostgresListener
from adapters.postgres.migrate import upgrade
from adapters.postgres.setup import PostgresAdapters
from adapters.postgres.urls import libpq_conninfo
from application.creation import EVENTS_CHANNEL, WORK_CHANNEL
from application.errors import LeaseLost, StorageError
from application.records import Lease
from domain.status import ExecutionStatus
from tests.contract.builders import (
    add_execution,
    add_workflow,
    eventually,
    execution,
    get_execution,
)
from tests.support.databases import drop_database, fresh_database_url

LEASE = timedelta(seconds=30)
_FILL = text("""
INSERT INTO executions (id, workspace_id, workflow_id, version, status, input, created_at, seq)
SELECT 'ex_' || lpad(n::text, 6, '0'), 'ws', :workflow_id, 1, 'pending', '{}'::jsonb,
       :now - make_interval(secs => n), 1
FROM generate_series(1, :count) AS n
""")


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_concurrency")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
async def adapters(database_url: str) -> AsyncIterator[PostgresAdapters]:
    found = PostgresAdapters(database_url, FakeClock(), pool_size=8)
    async with found.engine.begin() as connection:
        await connection.execute(text("TRUNCATE workflows, executions CASCADE"))
    await found.start()
    yield found
    await found.close()


async def test_eight_claimers_never_take_the_same_execution(adapters: PostgresAdapters) -> None:
    now = adapters.clock.now()
    flow = await add_workflow(adapters.uow_factory, now)
    async with adapters.engine.begin() as connection:
        await connection.execute(_FILL, {"workflow_id": flow.id, "now": now, "count": 1000})

    async def claim_until_empty(worker: str) -> list[Lease]:
        taken: list[Lease] = []
        while batch := await adapters.queue.claim(worker, 17, LEASE):
            taken.extend(batch)
        return taken

    results = await asyncio.gather(*(claim_until_empty(f"w{n}") for n in range(8)))
    claimed = [lease.execution_id for leases in results for lease in leases]
    assert len(claimed) == 1000
    assert len(set(claimed)) == 1000
    assert sum(1 for leases in results if leases) > 1  # the claims really interleaved


async def test_a_zombie_write_after_takeover_is_rejected(
    adapters: PostgresAdapters, database_url: str
) -> None:
    clock = adapters.clock
    assert isinstance(clock, FakeClock)
    other = PostgresAdapters(database_url, clock, pool_size=2)
    try:
        now = adapters.clock.now()
        flow = await add_workflow(adapters.uow_factory, now)
        added = await add_execution(adapters.uow_factory, flow.id, now)
        [zombie] = await adapters.queue.claim("zombie", 1, LEASE)
        clock.advance(LEASE.total_seconds() + 1)
        [current] = await other.queue.claim("successor", 1, LEASE)
        assert current.token > zombie.token
        finished = replace(added, status=ExecutionStatus.COMPLETED, output="zombie", seq=2)
        async with adapters.uow_factory() as uow:
            with pytest.raises(LeaseLost):
                await uow.executions.save(finished, expected_seq=1, lease=zombie)
            await uow.commit()
        assert await get_execution(adapters.uow_factory, added.id) == added
        assert [lease.execution_id for lease in await other.queue.heartbeat([current], LEASE)] == [
            added.id
        ]
    finally:
        await other.engine.dispose()


async def test_a_notify_wakes_a_waiting_listener(database_url: str) -> None:
    listener = PostgresListener(libpq_conninfo(database_url), [WORK_CHANNEL, EVENTS_CHANNEL])
    received: list[tuple[str, Mapping[str, Any]]] = []
    listener.subscribe(lambda channel, payload: received.append((channel, payload)))
    await listener.start()
    try:
        waiting = asyncio.create_task(listener.work_available.wait())
        await asyncio.sleep(0)
        assert not waiting.done()
        await _notify(database_url, WORK_CHANNEL, '{"execution_id": "ex_1"}')
        await asyncio.wait_for(waiting, timeout=5)
        assert received == [(WORK_CHANNEL, {"execution_id": "ex_1"})]
    finally:
        await listener.close()


async def test_the_listener_reconnects_after_its_backend_is_killed(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    listener = PostgresListener(libpq_conninfo(database_url), [EVENTS_CHANNEL])
    received: list[Mapping[str, Any]] = []
    listener.subscribe(lambda channel, payload: received.append(payload))
    await listener.start()
    try:
        killed = listener.backend_pid
        assert killed is not None
        with caplog.at_level(logging.WARNING, logger="adapters.postgres.listener"):
            with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
            assert await eventually(lambda: listener.backend_pid not in (None, killed), 10)
        assert "listener reconnecting" in caplog.text
        assert listener.work_available.is_set()  # missed news: workers are told to look
        await _notify(database_url, EVENTS_CHANNEL, '{"after": "reconnect"}')
        assert await eventually(lambda: {"after": "reconnect"} in received)
    finally:
        await listener.close()


async def _notify(url: str, channel: str, payload: str) -> None:
    async with await psycopg.AsyncConnection.connect(
        libpq_conninfo(url), autocommit=True
    ) as connection:
        await connection.execute("SELECT pg_notify(%s, %s)", (channel, payload))


async def test_a_connection_lost_mid_transaction_is_a_storage_error(
    adapters: PostgresAdapters, database_url: str
) -> None:
    now = adapters.clock.now()
    flow = await add_workflow(adapters.uow_factory, now)
    with pytest.raises(StorageError):
        async with adapters.uow_factory() as uow:
            await uow.executions.add(execution(flow.id, now), ["a"])
            _terminate_other_backends(database_url)
            await uow.executions.add(execution(flow.id, now), ["b"])
            await uow.commit()
    # The pool recovers: the next unit of work runs, and nothing of the lost one landed.
    async with adapters.uow_factory() as uow:
        assert await uow.executions.search("ws_contract") == []


async def test_an_unreachable_database_is_a_storage_error() -> None:
    unreachable = PostgresAdapters("postgresql://nobody@127.0.0.1:9/nothing", FakeClock())
    try:
        with pytest.raises(StorageError):
            async with unreachable.uow_factory():
                pass
        with pytest.raises(StorageError):
            await unreachable.queue.claim("w1", 1, LEASE)
    finally:
        await unreachable.close()


def _terminate_other_backends(url: str) -> None:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
