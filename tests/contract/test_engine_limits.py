"""Workflows of the maximum size on each adapter: a fan-out of `MAX_NODES` parallel nodes
runs to the end, and an execution of that size cancels at once (their writes exceed what
one statement may carry)."""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.status import ExecutionStatus, NodeStatus
from domain.validation import MAX_NODES
from entrypoints.containers import Engine
from tests.contract.conftest import Backend

WORKSPACE = "ws_limits"


def fan_out(width: int) -> dict[str, Any]:
    return {"nodes": [{"id": f"n{index}", "kind": "noop"} for index in range(width)]}


async def started(backend: Backend, doc: dict[str, Any]) -> tuple[Engine, str]:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
    )
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "largest", doc))
    run = await engine.start_run()(StartRun(WORKSPACE, flow.id, None))
    return engine, run.execution.id


async def node_statuses(backend: Backend, execution_id: str) -> set[NodeStatus]:
    async with backend.uow() as uow:
        runs = await uow.node_runs.get_all(execution_id)
    assert len(runs) == MAX_NODES
    return {run.status for run in runs.values()}


async def test_a_fan_out_of_the_maximum_width_runs_to_the_end(backend: Backend) -> None:
    engine, execution_id = await started(backend, fan_out(MAX_NODES))
    worker = WorkerLoop(WorkerSettings("w1"), backend.queue, engine.runner(), backend.clock)

    await worker.run_until_idle()

    async with backend.uow() as uow:
        done = await uow.executions.get(execution_id)
    assert done is not None and done.status is ExecutionStatus.COMPLETED
    assert len(done.output) == MAX_NODES
    assert await node_statuses(backend, execution_id) == {NodeStatus.SUCCEEDED}


async def test_an_execution_of_the_maximum_size_cancels_at_once(backend: Backend) -> None:
    engine, execution_id = await started(backend, fan_out(MAX_NODES))

    cancelled = await engine.cancel_execution()(CancelExecution(WORKSPACE, execution_id))

    assert cancelled.status is ExecutionStatus.CANCELLED
    assert await node_statuses(backend, execution_id) == {NodeStatus.CANCELLED}
    async with backend.uow() as uow:
        tail = await uow.events.search(execution_id, after_seq=cancelled.seq - 1)
    assert [event.type for event in tail] == ["execution_cancelled"]
