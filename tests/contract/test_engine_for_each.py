"""`for_each` end to end on each adapter: a list known only at run time fans out to one
child execution per item, at most `parallelism` at a time, and the node's output is the
children's outputs in item order. Failed items fail the node (or not, with `continue`),
and retrying the execution re-runs only the failed items."""

from __future__ import annotations

from typing import Any

import pytest

from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.retry_execution import RetryExecution
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop
from domain.execution import Execution
from domain.status import ExecutionStatus, NodeStatus
from entrypoints.containers import Engine
from tests.contract.conftest import Backend
from tests.contract.test_engine import engine_on
from tests.support.for_each import fan_out as for_each_parent

WORKSPACE = "ws_for_each"
DOUBLE: dict[str, Any] = {
    "nodes": [{"id": "double", "kind": "transform", "config": {"output": "{{ input.n * 2 }}"}}]
}
# Fails for an item whose `n` is 0 until a workflow named "helper" exists.
FLAKY: dict[str, Any] = {
    "nodes": [
        {
            "id": "check",
            "kind": "condition",
            "config": {"cases": [{"when": "zero", "if": "input.n == 0"}], "default": "other"},
        },
        # Named by a template: saved before "helper" exists, looked up when it runs.
        {"id": "help", "kind": "sub_workflow", "config": {"workflow": "{{ 'helper' }}"}},
        {"id": "echo", "kind": "transform", "config": {"output": "{{ input.n }}"}},
    ],
    "edges": [
        {"from": "check", "to": "help", "when": "zero"},
        {"from": "check", "to": "echo", "when": "other"},
    ],
}


def fan_out(child: str, **config: Any) -> dict[str, Any]:
    """The fan-out parent, its items' input also naming their index."""
    return for_each_parent(child, input={"n": "{{ item }}", "at": "{{ index }}"}, **config)


async def create(engine: Engine, name: str, document: dict[str, Any]) -> str:
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, name, document))
    return flow.id


async def run(engine: Engine, worker: WorkerLoop, workflow_id: str, count: int) -> Execution:
    started = await engine.start_run()(StartRun(WORKSPACE, workflow_id, {"count": count}))
    await worker.run_until_idle()
    return await get(engine, started.execution.id)


async def get(engine: Engine, execution_id: str) -> Execution:
    async with engine.uow_factory()() as uow:
        found: Execution | None = await uow.executions.get(execution_id)
    assert found is not None
    return found


async def items_of(backend: Backend, execution_id: str) -> list[Execution]:
    async with backend.uow() as uow:  # a node's items come in item order
        return await uow.executions.search(WORKSPACE, parent_execution_id=execution_id, limit=1000)


async def node_run(backend: Backend, execution_id: str, node_id: str) -> Any:
    async with backend.uow() as uow:
        return (await uow.node_runs.get_all(execution_id))[node_id]


@pytest.mark.parametrize(("count", "parallelism"), [(25, 3), (300, 50)])
async def test_each_item_runs_once_and_the_outputs_come_back_in_item_order(
    backend: Backend, count: int, parallelism: int
) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "double", DOUBLE)
    parent = await create(engine, "fan", fan_out("double", parallelism=parallelism))

    execution = await run(engine, worker, parent, count=count)

    assert execution.status is ExecutionStatus.COMPLETED
    each = await node_run(backend, execution.id, "each")
    assert each.output == [{"double": n * 2} for n in range(count)]
    children = await items_of(backend, execution.id)
    assert [child.parent.item_index for child in children] == list(range(count))  # type: ignore[union-attr]
    assert all(child.status is ExecutionStatus.COMPLETED for child in children)
    assert [child.input for child in children][:2] == [{"n": 0, "at": 0}, {"n": 1, "at": 1}]
    assert {child.depth for child in children} == {1}


async def test_an_empty_list_succeeds_with_an_empty_output(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "double", DOUBLE)
    parent = await create(engine, "fan", fan_out("double"))

    execution = await run(engine, worker, parent, count=0)

    assert execution.status is ExecutionStatus.COMPLETED
    assert (await node_run(backend, execution.id, "each")).output == []


async def test_a_failed_item_fails_the_node_and_a_retry_reruns_only_the_failed_items(
    backend: Backend,
) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "flaky", FLAKY)
    parent = await create(engine, "fan", fan_out("flaky", parallelism=1))

    execution = await run(engine, worker, parent, count=4)

    assert execution.status is ExecutionStatus.FAILED
    each = await node_run(backend, execution.id, "each")
    assert each.status is NodeStatus.FAILED
    assert each.error["kind"] == "item_failed"
    assert each.error["details"]["index"] == 0
    first = await items_of(backend, execution.id)
    assert [child.status for child in first] == [ExecutionStatus.FAILED]  # parallelism 1

    await create(engine, "helper", {"nodes": [{"id": "ok", "kind": "noop"}]})
    await engine.retry_execution()(RetryExecution(WORKSPACE, execution.id))
    await worker.run_until_idle()

    execution = await get(engine, execution.id)
    assert execution.status is ExecutionStatus.COMPLETED
    after = await items_of(backend, execution.id)
    assert [child.id for child in after][:1] == [first[0].id]  # the same child, run again
    outputs = (await node_run(backend, execution.id, "each")).output
    assert outputs == [{"help": {"ok": None}}, {"echo": 1}, {"echo": 2}, {"echo": 3}]


async def test_with_continue_the_node_succeeds_with_each_items_status(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "flaky", FLAKY)
    parent = await create(engine, "fan", fan_out("flaky", on_item_error="continue"))

    execution = await run(engine, worker, parent, count=3)

    assert execution.status is ExecutionStatus.COMPLETED
    output = (await node_run(backend, execution.id, "each")).output
    assert [item["status"] for item in output] == ["failed", "completed", "completed"]
    assert [item["output"] for item in output] == [None, {"echo": 1}, {"echo": 2}]
    assert output[0]["error"] is not None


async def test_items_wake_their_parent_in_batches_not_once_each(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "double", DOUBLE)
    parent = await create(engine, "fan", fan_out("double", parallelism=20))

    execution = await run(engine, worker, parent, count=200)

    assert execution.status is ExecutionStatus.COMPLETED
    async with backend.uow() as uow:
        history = await uow.events.search(execution.id, limit=100_000)
    woken = [event for event in history if event.type == "child_finished"]
    assert 1 <= len(woken) <= 200 // 10
    assert execution.seq == len(history) < 200


async def test_cancelling_the_parent_cancels_the_running_items(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    waits: dict[str, Any] = {
        "nodes": [{"id": "gate", "kind": "wait_for_signal", "config": {"signal": "go"}}]
    }
    await create(engine, "waits", waits)
    parent = await create(engine, "fan", fan_out("waits", parallelism=4))
    execution = await run(engine, worker, parent, count=10)
    assert execution.status is ExecutionStatus.WAITING
    started = await items_of(backend, execution.id)
    assert len(started) == 4  # parallelism

    await engine.cancel_execution()(CancelExecution(WORKSPACE, execution.id))
    await worker.run_until_idle()

    assert (await get(engine, execution.id)).status is ExecutionStatus.CANCELLED
    items = await items_of(backend, execution.id)
    assert len(items) == 4
    assert {item.status for item in items} == {ExecutionStatus.CANCELLED}


async def test_an_item_input_that_does_not_render_fails_the_node_naming_the_item(
    backend: Backend,
) -> None:
    engine, worker = engine_on(backend)
    await create(engine, "double", DOUBLE)
    parent = await create(
        engine, "fan", for_each_parent("double", input={"n": "{{ 10 // (2 - item) }}"})
    )

    execution = await run(engine, worker, parent, count=4)

    assert execution.status is ExecutionStatus.FAILED
    each = await node_run(backend, execution.id, "each")
    assert each.error["kind"] == "expression_error"
    assert each.error["message"].startswith("item 2: ")
    assert len(await items_of(backend, execution.id)) == 2  # items 0 and 1 had started
