"""The worker's retention task: it runs the pass every interval, counts what it deleted in
the worker's metrics, and never runs when the interval is 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from adapters.clock import FakeClock
from adapters.memory.store import InMemoryStore
from domain.execution import Execution
from domain.retention import RetentionPolicy
from domain.status import ExecutionStatus
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.settings import Settings
from entrypoints.worker.main import _apply_retention
from entrypoints.worker.metrics import RETENTION_DELETED, RETENTION_LAST_PASS


def _finished(store: InMemoryStore, clock: FakeClock, days_ago: int) -> Execution:
    execution = Execution(
        id=f"ex_{days_ago}",
        workspace_id="ws",
        workflow_id="wf",
        version=1,
        status=ExecutionStatus.FAILED,
        input=None,
        created_at=clock.now() - timedelta(days=days_ago + 1),
        finished_at=clock.now() - timedelta(days=days_ago),
    )
    store.executions[execution.id] = execution
    return execution


@contextlib.asynccontextmanager
async def _retention_task(
    interval: float, clock: FakeClock, store: InMemoryStore
) -> AsyncIterator[asyncio.Task[None]]:
    """The worker's retention task on a runtime over `store`, stopped however the test ends."""
    settings = Settings.model_validate({"database_url": None})
    runtime = await bootstrap(settings, clock=clock, storage=memory_storage(store))
    await runtime.storage.retention_policies.put(
        "ws", RetentionPolicy(keep_failed_days=7), clock.now()
    )
    task = asyncio.create_task(_apply_retention(runtime, interval))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runtime.close()


async def _until(condition: Callable[[], bool], deadline: float = 5.0) -> None:
    async with asyncio.timeout(deadline):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_task_prunes_by_the_policy_and_counts_it() -> None:
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    old, recent = _finished(store, clock, 8), _finished(store, clock, 6)
    before = RETENTION_DELETED.labels("failed")._value.get()
    RETENTION_LAST_PASS.set(0)

    async with _retention_task(0.02, clock, store):
        await _until(lambda: RETENTION_LAST_PASS._value.get() > 0)

    assert old.id not in store.executions
    assert recent.id in store.executions
    assert RETENTION_DELETED.labels("failed")._value.get() == before + 1


async def test_an_interval_of_0_turns_it_off() -> None:
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    old = _finished(store, clock, 8)

    async with _retention_task(0, clock, store) as task:
        assert await asyncio.wait_for(task, 1) is None  # it returns at once: no pass

    assert old.id in store.executions
