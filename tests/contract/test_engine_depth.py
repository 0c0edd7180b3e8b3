"""The maximum nesting depth of sub-workflows, end to end on each adapter: a workflow that
starts itself stops at the limit with `max_depth_exceeded` on the deepest node."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from dependency_injector import providers

from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.update_workflow import UpdateWorkflow
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.execution import Execution
from domain.status import ExecutionStatus, NodeStatus
from entrypoints.containers import Engine
from tests.contract.conftest import Backend

WORKSPACE = "ws_depth"
LIMIT = 3


def engine_with_limit(backend: Backend, max_depth: int = LIMIT) -> tuple[Engine, WorkerLoop]:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
    )
    engine.max_depth.override(providers.Object(max_depth))  # as bootstrap passes the setting
    worker = WorkerLoop(WorkerSettings("worker-1"), backend.queue, engine.runner(), backend.clock)
    return engine, worker


def recursive(workflow_id: str) -> dict[str, Any]:
    """Starts itself with `n - 1` while `n > 0`: a chain of `n` nested children."""
    return {
        "nodes": [
            {
                "id": "check",
                "kind": "condition",
                "config": {"cases": [{"when": "more", "if": "input.n > 0"}], "default": "done"},
            },
            {
                "id": "again",
                "kind": "sub_workflow",
                "config": {"workflow_id": workflow_id, "input": {"n": "{{ input.n - 1 }}"}},
            },
        ],
        "edges": [{"from": "check", "to": "again", "when": "more"}],
        "settings": {"allow_recursion": True},  # refused at save otherwise
    }


async def run_chain(backend: Backend, n: int) -> list[Execution]:
    """Run the self-recursive workflow with `n`; its executions, outermost first."""
    engine, worker = engine_with_limit(backend)
    placeholder = {"nodes": [{"id": "check", "kind": "noop"}]}
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "recursive", placeholder))
    await engine.update_workflow()(UpdateWorkflow(WORKSPACE, flow.id, recursive(flow.id)))
    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, {"n": n}))

    await worker.run_until_idle()

    async with backend.uow() as uow:
        found = await uow.executions.search(WORKSPACE, workflow_id=flow.id)
    chain = sorted(found, key=lambda execution: execution.depth)
    assert chain[0].id == started.execution.id
    return list(chain)


async def runs_of(backend: Backend, execution_id: str) -> dict[str, Any]:
    async with backend.uow() as uow:
        return dict(await uow.node_runs.get_all(execution_id))


async def test_a_self_recursive_workflow_stops_at_the_limit(backend: Backend) -> None:
    chain = await run_chain(backend, n=10)

    assert [execution.depth for execution in chain] == [0, 1, 2, 3]
    for outer, inner in pairwise(chain):
        assert inner.parent is not None and inner.parent.execution_id == outer.id
    assert all(execution.status is ExecutionStatus.FAILED for execution in chain)
    deepest = await runs_of(backend, chain[-1].id)
    error = deepest["again"].error
    assert deepest["again"].status is NodeStatus.FAILED
    assert error is not None and error["kind"] == "max_depth_exceeded"
    assert error["retryable"] is False
    assert error["details"] == {"depth": 4, "max_depth": LIMIT}
    assert "4 deep" in error["message"] and "limit of 3" in error["message"]
    outermost = await runs_of(backend, chain[0].id)
    assert outermost["again"].error is not None
    assert outermost["again"].error["kind"] == "child_failed"


async def test_a_chain_as_deep_as_the_limit_completes(backend: Backend) -> None:
    chain = await run_chain(backend, n=LIMIT)

    assert [execution.depth for execution in chain] == [0, 1, 2, 3]
    assert all(execution.status is ExecutionStatus.COMPLETED for execution in chain)


async def test_the_depth_is_stored_and_read_back(backend: Backend) -> None:
    chain = await run_chain(backend, n=1)

    async with backend.uow() as uow:
        child = await uow.executions.get(chain[1].id)
    assert child is not None and child.depth == 1
    assert [execution.status for execution in chain] == [ExecutionStatus.COMPLETED] * 2
