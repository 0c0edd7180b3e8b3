"""The composition root: settings choose the storage, what a test passes in is used as it
is, and the ports it wires (notifications, readiness, pruning) answer on both storages."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from adapters.clock import FakeClock
from adapters.memory.store import InMemoryStore
from adapters.postgres.migrate import upgrade
from adapters.postgres.urls import libpq_conninfo
from application.creation import EVENTS_CHANNEL
from application.errors import SchemaOutOfDate
from application.nodes.builtin import builtin_executors
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings
from tests.support.databases import drop_database, fresh_database_url

WORKSPACE = "ws_bootstrap"
ONE_NODE = {"nodes": [{"id": "only", "kind": "noop"}]}
DEADLINE = 10.0
_names = itertools.count()


class Heard:
    """A subscriber that keeps the event types it hears on the events channel."""

    def __init__(self) -> None:
        self.types: list[str] = []

    def __call__(self, channel: str, payload: Mapping[str, Any]) -> None:
        if channel == EVENTS_CHANNEL:
            self.types.append(str(payload.get("type")))


async def heard_within(heard: Heard, wanted: str) -> None:
    async with asyncio.timeout(DEADLINE):
        while wanted not in heard.types:
            await asyncio.sleep(0.01)


async def start_one_run(runtime: Runtime) -> str:
    create = CreateWorkflow(WORKSPACE, f"one-{next(_names)}", ONE_NODE)
    flow = await runtime.engine.create_workflow()(create)
    started = await runtime.engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    return started.execution.id


@pytest.fixture
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_bootstrap")
    yield url
    drop_database(url)


async def test_without_a_database_url_the_storage_is_in_memory() -> None:
    runtime = await bootstrap(Settings.model_validate({"database_url": None}))
    try:
        heard = Heard()
        runtime.subscribe(heard)
        await runtime.storage.readiness.check()
        await start_one_run(runtime)
        assert runtime.storage.where == "memory"
        assert "execution_created" in heard.types
    finally:
        await runtime.close()


async def test_an_unsubscribed_subscriber_hears_nothing_more() -> None:
    runtime = await bootstrap(Settings.model_validate({"database_url": None}))
    try:
        heard = Heard()
        unsubscribe = runtime.subscribe(heard)
        await start_one_run(runtime)
        unsubscribe()
        before = list(heard.types)
        await start_one_run(runtime)
        assert before and heard.types == before
    finally:
        await runtime.close()


async def test_what_a_test_passes_in_is_what_the_runtime_uses() -> None:
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    closed: list[bool] = []

    async def record_close() -> None:
        closed.append(True)

    storage = dataclasses.replace(memory_storage(store), close=record_close)
    executors = builtin_executors()
    runtime = await bootstrap(
        Settings.model_validate({"database_url": None}),
        clock=clock,
        storage=storage,
        executors=executors,
    )
    execution_id = await start_one_run(runtime)
    await runtime.close()
    await runtime.close()
    assert runtime.clock is clock and runtime.engine.clock() is clock
    assert runtime.engine.executors() is executors
    assert store.executions[execution_id].created_at == clock.now()
    assert closed == [True]


async def test_on_postgres_the_ports_answer_from_the_database(database: str) -> None:
    upgrade(database)
    runtime = await bootstrap(Settings.model_validate({"database_url": database}))
    try:
        heard = Heard()
        runtime.subscribe(heard)
        await runtime.storage.readiness.check()
        await start_one_run(runtime)
        await heard_within(heard, "execution_created")
        later = runtime.clock.now() + timedelta(days=1)
        assert await runtime.storage.pruner.count_prunable(later) == 0
        assert database.rsplit("/", 1)[1].split("?")[0] in runtime.storage.where
    finally:
        await runtime.close()


async def test_readiness_fails_once_the_schema_is_not_this_codes(database: str) -> None:
    upgrade(database)
    runtime = await bootstrap(Settings.model_validate({"database_url": database}))
    try:
        with psycopg.connect(libpq_conninfo(database), autocommit=True) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'elsewhere'")
        with pytest.raises(SchemaOutOfDate):
            await runtime.storage.readiness.check()
    finally:
        await runtime.close()


async def test_an_unmigrated_database_is_refused_at_bootstrap(database: str) -> None:
    with pytest.raises(SchemaOutOfDate):
        await bootstrap(Settings.model_validate({"database_url": database}))
