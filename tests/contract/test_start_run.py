"""Starting runs on each adapter: a workflow started before is stored in one exchange, and
what changed since (a new version, an archive) is never missed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from dependency_injector import providers

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWork
from application.use_cases.archive_workflow import ArchiveWorkflow, ArchiveWorkflowHandler
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.update_workflow import UpdateWorkflow
from domain.status import ExecutionStatus
from entrypoints.containers import Engine
from tests.contract.builders import get_execution
from tests.contract.conftest import Backend

WORKSPACE = "ws_start"
ONE_NODE: dict[str, Any] = {"nodes": [{"id": "a", "kind": "noop"}], "edges": []}
TWO_NODES: dict[str, Any] = {
    "nodes": [{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop"}],
    "edges": [{"from": "a", "to": "b"}],
}


class CountingUnitsOfWork:
    """The backend's units of work, counted."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.opened = 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        return self._backend.uow()


def engine_on(backend: Backend, counted: CountingUnitsOfWork) -> Engine:
    return Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(counted),
        queue=providers.Object(backend.queue),
        run_inserts=providers.Object(backend.run_inserts),
    )


async def test_a_workflow_started_before_is_started_without_a_unit_of_work(
    backend: Backend,
) -> None:
    counted = CountingUnitsOfWork(backend)
    engine = engine_on(backend, counted)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    first = await engine.start_run()(StartRun(WORKSPACE, flow.id, {"n": 1}))
    opened = counted.opened

    second = await engine.start_run()(StartRun(WORKSPACE, flow.id, {"n": 2}))

    assert counted.opened == opened
    stored = await get_execution(backend.uow, second.execution.id)
    assert stored == second.execution
    assert stored is not None and stored.status is ExecutionStatus.PENDING
    assert stored.input == {"n": 2} and first.execution.id != second.execution.id


async def test_a_new_version_is_run_as_soon_as_it_is_published(backend: Backend) -> None:
    engine = engine_on(backend, CountingUnitsOfWork(backend))
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    # Published by another process: this engine's handler has not seen it.
    other = engine_on(backend, CountingUnitsOfWork(backend))
    await other.update_workflow()(UpdateWorkflow(WORKSPACE, flow.id, TWO_NODES))

    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    pinned = await engine.start_run()(StartRun(WORKSPACE, flow.id, None, version=1))

    assert started.execution.version == 2
    assert pinned.execution.version == 1
    async with backend.uow() as uow:
        assert list(await uow.node_runs.get_all(started.execution.id)) == ["a", "b"]
        assert list(await uow.node_runs.get_all(pinned.execution.id)) == ["a"]


async def test_an_archived_workflow_is_not_started_from_what_was_known(backend: Backend) -> None:
    engine = engine_on(backend, CountingUnitsOfWork(backend))
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    await ArchiveWorkflowHandler(backend.uow, backend.clock)(ArchiveWorkflow(WORKSPACE, flow.id))

    with pytest.raises(NotFound):
        await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    with pytest.raises(NotFound):
        await engine.start_run()(StartRun("ws_other", flow.id, None))


async def test_a_run_started_in_one_exchange_keeps_its_start_time(backend: Backend) -> None:
    counted = CountingUnitsOfWork(backend)
    engine = engine_on(backend, counted)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    opened = counted.opened
    later = backend.clock.now() + timedelta(minutes=10)

    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, {"n": 1}, start_at=later))

    assert counted.opened == opened
    stored = await get_execution(backend.uow, started.execution.id)
    assert stored == started.execution
    assert stored is not None and stored.wake_at == later
    claimed = await backend.queue.claim("w1", 10, timedelta(seconds=30))
    assert started.execution.id not in {lease.execution_id for lease in claimed}
