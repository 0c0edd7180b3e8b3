"""`settings.fail_fast` end to end on each adapter: the first node that fails for good ends
the execution at once, cancelling timers, running bodies and sub-workflows; without it the
other branches run to their end first (the default, unchanged)."""

from __future__ import annotations

import asyncio
from typing import Any

from dependency_injector import providers

from application.nodes.builtin import builtin_executors
from application.ports.executors import Failed
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.definition import NodeKind
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.policies import NodeError
from domain.status import ExecutionStatus, NodeStatus
from entrypoints.containers import Engine
from tests.application.conftest import SCRIPTED_URL, Gate, ScriptedExecutor
from tests.contract.conftest import Backend

WORKSPACE = "ws_fail_fast"
REJECTED = Failed(NodeError("http_400", "the service rejected the request", retryable=False))
IDLE_WITHIN = 10.0  # seconds: a run that does not end its bodies would hang the worker


def engine_with(backend: Backend, executor: ScriptedExecutor) -> tuple[Engine, WorkerLoop]:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
    )
    registry = builtin_executors().with_executors({NodeKind.HTTP_REQUEST: executor})
    engine.executors.override(providers.Object(registry))
    worker = WorkerLoop(WorkerSettings("worker-1"), backend.queue, engine.runner(), backend.clock)
    return engine, worker


def call(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "kind": "http_request", "config": {"url": SCRIPTED_URL}}


def with_settings(doc: dict[str, Any], fail_fast: bool) -> dict[str, Any]:
    return {**doc, "settings": {"fail_fast": True}} if fail_fast else doc


async def run(engine: Engine, doc: dict[str, Any], name: str) -> str:
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, name, doc))
    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, {}))
    return started.execution.id


async def load(backend: Backend, execution_id: str) -> tuple[Execution, dict[str, NodeRun]]:
    async with backend.uow() as uow:
        found = await uow.executions.get(execution_id)
        runs = await uow.node_runs.get_all(execution_id)
    assert found is not None
    return found, runs


async def idle(worker: WorkerLoop) -> None:
    await asyncio.wait_for(worker.run_until_idle(), timeout=IDLE_WITHIN)


TIMER_AND_FAILURE: dict[str, Any] = {
    "nodes": [
        {"id": "pause", "kind": "delay", "config": {"seconds": 86400}},
        {"id": "after_pause", "kind": "noop"},
        call("boom"),
    ],
    "edges": [{"from": "pause", "to": "after_pause"}],
}


async def test_a_failure_ends_the_execution_at_once_despite_a_long_timer(
    backend: Backend,
) -> None:
    executor = ScriptedExecutor({("boom", 1): REJECTED})
    engine, worker = engine_with(backend, executor)
    execution_id = await run(engine, with_settings(TIMER_AND_FAILURE, True), "fast")

    await idle(worker)

    execution, runs = await load(backend, execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == {**REJECTED.error.as_dict(), "node_id": "boom"}
    assert execution.wake_at is None and execution.finished_at is not None
    assert runs["boom"].status is NodeStatus.FAILED
    assert runs["pause"].status is NodeStatus.CANCELLED
    assert runs["after_pause"].status is NodeStatus.CANCELLED
    async with backend.uow() as uow:
        log = await uow.events.search(execution_id)
    assert [event.seq for event in log] == list(range(1, execution.seq + 1))
    assert log[-1].type == "execution_failed"


async def test_without_fail_fast_the_failure_waits_for_the_timer(backend: Backend) -> None:
    executor = ScriptedExecutor({("boom", 1): REJECTED})
    engine, worker = engine_with(backend, executor)
    execution_id = await run(engine, with_settings(TIMER_AND_FAILURE, False), "patient")

    await idle(worker)

    execution, runs = await load(backend, execution_id)
    assert execution.status is ExecutionStatus.WAITING
    assert runs["boom"].status is NodeStatus.FAILED
    assert runs["pause"].status is NodeStatus.WAITING

    backend.clock.advance(86401)
    await idle(worker)
    execution, runs = await load(backend, execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None and execution.error["node_id"] == "boom"
    assert runs["after_pause"].status is NodeStatus.SUCCEEDED


async def test_a_running_network_node_on_another_branch_is_cancelled(backend: Backend) -> None:
    slow = Gate()
    executor = ScriptedExecutor({("slow", 1): slow})

    async def fail_once_slow_runs(_: object) -> Failed:
        await slow.entered.wait()
        return REJECTED

    executor.on("boom", 1, fail_once_slow_runs)
    engine, worker = engine_with(backend, executor)
    doc = {"nodes": [call("slow"), call("boom")], "edges": [], "settings": {"fail_fast": True}}
    execution_id = await run(engine, doc, "cancels-a-body")

    await idle(worker)  # without fail_fast this waits for the gate, which never opens

    execution, runs = await load(backend, execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None and execution.error["node_id"] == "boom"
    assert slow.cancelled
    assert runs["slow"].status is NodeStatus.CANCELLED
    assert runs["slow"].attempt == 1
    assert executor.attempts("slow") == [1]  # cancelled, not run again


async def test_a_waiting_sub_workflow_child_is_cancelled(backend: Backend) -> None:
    executor = ScriptedExecutor({("boom", 1): REJECTED})
    engine, worker = engine_with(backend, executor)
    approval = {"id": "approval", "kind": "wait_for_signal", "config": {"signal": "go"}}
    child_doc = {"nodes": [approval]}
    child = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "child", child_doc))
    parent_doc = {
        "nodes": [
            {"id": "sub", "kind": "sub_workflow", "config": {"workflow_id": child.id}},
            {"id": "pause", "kind": "delay", "config": {"seconds": 10}},
            call("boom"),
        ],
        "edges": [{"from": "pause", "to": "boom"}],
        "settings": {"fail_fast": True},
    }
    parent_id = await run(engine, parent_doc, "parent")

    await idle(worker)
    async with backend.uow() as uow:
        children = await uow.executions.search(WORKSPACE, workflow_id=child.id)
    assert len(children) == 1
    child_id = children[0].id
    assert children[0].status is ExecutionStatus.WAITING  # parked on its signal

    backend.clock.advance(11)
    await idle(worker)

    parent, parent_runs = await load(backend, parent_id)
    assert parent.status is ExecutionStatus.FAILED
    assert parent.error is not None and parent.error["node_id"] == "boom"
    assert parent_runs["sub"].status is NodeStatus.CANCELLED
    found, child_runs = await load(backend, child_id)
    assert found.status is ExecutionStatus.CANCELLED
    assert child_runs["approval"].status is NodeStatus.CANCELLED
