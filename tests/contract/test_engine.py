"""The engine end to end on each adapter: create, run, park on a timer, resume, complete."""

from __future__ import annotations

import asyncio
from typing import Any

from dependency_injector import providers

from adapters.secrets.crypto import SecretCipher
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.retry_execution import RetryExecution
from application.use_cases.secrets import CreateSecretHandler, PutSecret
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.status import ExecutionStatus, NodeStatus
from entrypoints.containers import Engine
from tests.contract.conftest import Backend

WORKSPACE = "ws_engine"
BRANCHING: dict[str, Any] = {
    "nodes": [
        {"id": "double", "kind": "transform", "config": {"output": {"value": "{{ input.n * 2 }}"}}},
        {
            "id": "check",
            "kind": "condition",
            "config": {
                "cases": [{"when": "big", "if": "nodes.double.output.value > 10"}],
                "default": "small",
            },
        },
        {"id": "pause", "kind": "delay", "config": {"seconds": 60}},
        {"id": "skip", "kind": "noop"},
    ],
    "edges": [
        {"from": "double", "to": "check"},
        {"from": "check", "to": "pause", "when": "big"},
        {"from": "check", "to": "skip", "when": "small"},
    ],
}
APPROVAL: dict[str, Any] = {
    "nodes": [{"id": "gate", "kind": "wait_for_signal", "config": {"signal": "approve"}}],
    "edges": [],
}


def engine_on(backend: Backend, cipher: SecretCipher | None = None) -> tuple[Engine, WorkerLoop]:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
        decryptor=providers.Object(cipher),
    )
    worker = WorkerLoop(WorkerSettings("worker-1"), backend.queue, engine.runner(), backend.clock)
    return engine, worker


async def test_a_run_parks_on_its_timer_and_completes_after_it(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "branching", BRANCHING))
    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, {"n": 21}))
    execution_id = started.execution.id

    assert await worker.run_until_idle() == 1
    async with backend.uow() as uow:
        parked = await uow.executions.get(execution_id)
    assert parked is not None and parked.status is ExecutionStatus.WAITING
    assert await worker.run_until_idle() == 0  # nothing is due before the timer

    backend.clock.advance(61)
    assert await worker.run_until_idle() == 1
    async with backend.uow() as uow:
        done = await uow.executions.get(execution_id)
        runs = await uow.node_runs.get_all(execution_id)
        log = await uow.events.search(execution_id)
    assert done is not None and done.status is ExecutionStatus.COMPLETED
    assert done.output == {"pause": {"waited_until": "2030-01-01T00:01:00+00:00"}}
    assert runs["double"].output == {"value": 42}
    assert runs["check"].label == "big"
    assert runs["skip"].status is NodeStatus.SKIPPED
    assert [event.seq for event in log] == list(range(1, done.seq + 1))
    assert log[0].type == "execution_created" and log[-1].type == "execution_completed"


async def test_a_signal_sent_before_the_wait_is_taken_by_it(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "approval", APPROVAL))
    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, None, idempotency_key="k"))
    again = await engine.start_run()(StartRun(WORKSPACE, flow.id, None, idempotency_key="k"))
    assert again.created is False and again.execution.id == started.execution.id
    execution_id = started.execution.id

    await engine.deliver_signal()(DeliverSignal(WORKSPACE, execution_id, "approve", {"ok": 1}))
    await worker.run_until_idle()
    async with backend.uow() as uow:
        done = await uow.executions.get(execution_id)
        log = await uow.events.search(execution_id)
    assert done is not None and done.status is ExecutionStatus.COMPLETED
    assert done.output == {"gate": {"signal": "approve", "payload": {"ok": 1}}}
    assert [event.seq for event in log] == list(range(1, done.seq + 1))


async def test_retrying_a_failed_sub_workflow_node_starts_a_second_child(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    child_doc = {
        "nodes": [
            {"id": "c", "kind": "condition", "config": {"cases": [{"when": "x", "if": "input.ok"}]}}
        ],
        "edges": [],
    }
    child = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "child", child_doc))
    parent_doc = {
        "nodes": [
            {
                "id": "call",
                "kind": "sub_workflow",
                "config": {"workflow_id": child.id, "input": {"ok": False}},
            }
        ],
        "edges": [],
    }
    parent = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "parent", parent_doc))
    started = await engine.start_run()(StartRun(WORKSPACE, parent.id, {}))
    await worker.run_until_idle()
    await engine.retry_execution()(RetryExecution(WORKSPACE, started.execution.id))
    await worker.run_until_idle()
    async with backend.uow() as uow:
        failed = await uow.executions.get(started.execution.id)
        children = await uow.executions.search(WORKSPACE, workflow_id=child.id)
    assert failed is not None and failed.status is ExecutionStatus.FAILED
    assert len(children) == 2
    assert {c.parent.node_id for c in children if c.parent} == {"call"}


async def test_a_node_reads_a_secret_through_the_steps_own_unit_of_work(backend: Backend) -> None:
    # The secret is read inside the group commit's transaction: on the in-memory adapter a
    # second unit of work there would wait on the lock the step holds, for ever.
    cipher = SecretCipher("a-contract-secret-key")
    engine, worker = engine_on(backend, cipher)
    create_secret = CreateSecretHandler(backend.uow, backend.clock, cipher)
    await create_secret(PutSecret(WORKSPACE, "TOKEN", "tok/ab+cd"))
    reads = {
        "nodes": [
            {
                "id": "use",
                "kind": "transform",
                "config": {"output": "{{ secrets.TOKEN | length }}"},
            },
            {
                "id": "branch",
                "kind": "condition",
                "config": {
                    "cases": [{"when": "yes", "if": "secrets.TOKEN == 'tok/ab+cd'"}],
                    "default": "no",
                },
            },
            {"id": "yes", "kind": "noop"},
        ],
        "edges": [{"from": "branch", "to": "yes", "when": "yes"}],
    }
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "reads-a-secret", reads))
    started = await engine.start_run()(StartRun(WORKSPACE, flow.id, None))

    await asyncio.wait_for(worker.run_until_idle(), timeout=10)

    async with backend.uow() as uow:
        done = await uow.executions.get(started.execution.id)
        runs = await uow.node_runs.get_all(started.execution.id)
    assert done is not None and done.status is ExecutionStatus.COMPLETED
    assert runs["use"].output == 9
    assert runs["use"].input == {"output": "[redacted]"}
    assert runs["yes"].status is NodeStatus.SUCCEEDED
