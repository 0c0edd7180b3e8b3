"""Flow control end to end on each adapter: `settings.concurrency` keeps at most N
executions of a key in progress and hands a slot to the oldest waiting one as one ends;
`settings.rate_limit` lets at most N start per window and holds the rest for the next."""

from __future__ import annotations

from typing import Any

from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.start_run import StartRun
from domain.execution import Execution
from domain.flow_control import describe_reason
from domain.status import ExecutionStatus
from entrypoints.containers import Engine
from tests.contract.conftest import Backend
from tests.contract.test_engine import engine_on

WORKSPACE = "ws_flow"
GATED: dict[str, Any] = {
    "nodes": [{"id": "gate", "kind": "wait_for_signal", "config": {"signal": "go"}}],
    "settings": {"concurrency": {"limit": 2, "key": "input.customer"}},
}
QUICK: dict[str, Any] = {
    "nodes": [{"id": "done", "kind": "noop"}],
    "settings": {"rate_limit": {"limit": 2, "period_seconds": 60}},
}


async def start(engine: Engine, workflow_id: str, inputs: list[dict[str, Any]]) -> list[str]:
    ids = []
    for value in inputs:
        engine.clock().advance(0.001)  # arrivals one after the other, as the order is kept
        started = await engine.start_run()(StartRun(WORKSPACE, workflow_id, value))
        ids.append(started.execution.id)
    return ids


async def states(backend: Backend, ids: list[str]) -> list[Execution]:
    async with backend.uow() as uow:
        found = await uow.executions.get_many(ids)
    return [found[execution_id] for execution_id in ids]


def in_progress(executions: list[Execution]) -> list[bool]:
    return [execution.holds_slot for execution in executions]


async def test_at_most_the_limit_run_per_key_and_a_slot_goes_to_the_oldest_waiting(
    backend: Backend,
) -> None:
    engine, worker = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "gated", GATED))
    customers = ["acme", "acme", "bolt", "acme", "acme", "bolt"]
    ids = await start(engine, flow.id, [{"customer": c} for c in customers])

    await worker.run_until_idle()

    found = await states(backend, ids)
    assert in_progress(found) == [True, True, True, False, False, True]
    assert all(e.status is ExecutionStatus.WAITING for e in found)
    assert describe_reason(found[3].waiting_reason) == (
        "waiting for a concurrency slot (key acme: 2 of 2 running)"
    )

    await engine.deliver_signal()(DeliverSignal(WORKSPACE, ids[1], "go"))
    await worker.run_until_idle()

    found = await states(backend, ids)
    assert found[1].status is ExecutionStatus.COMPLETED
    assert in_progress(found) == [True, False, True, True, False, True]  # the oldest waiting
    assert found[3].started_at is not None and found[4].started_at is None

    await engine.cancel_execution()(CancelExecution(WORKSPACE, ids[0]))
    await worker.run_until_idle()

    found = await states(backend, ids)
    assert found[0].status is ExecutionStatus.CANCELLED
    assert in_progress(found) == [False, False, True, True, True, True]


async def test_a_cancelled_waiting_execution_gives_no_slot_away(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "gated", GATED))
    ids = await start(engine, flow.id, [{"customer": "acme"}] * 4)
    await worker.run_until_idle()

    await engine.cancel_execution()(CancelExecution(WORKSPACE, ids[2]))
    await engine.deliver_signal()(DeliverSignal(WORKSPACE, ids[0], "go"))
    await worker.run_until_idle()

    found = await states(backend, ids)
    assert [e.status for e in found] == [
        ExecutionStatus.COMPLETED,
        ExecutionStatus.WAITING,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.WAITING,
    ]
    assert in_progress(found) == [False, True, False, True]


async def test_at_most_the_limit_start_per_window(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "quick", QUICK))
    backend.clock.advance(to=backend.clock.now().replace(second=5, microsecond=0))
    ids = await start(engine, flow.id, [{"n": n} for n in range(5)])

    await worker.run_until_idle()

    found = await states(backend, ids)
    completed = [e for e in found if e.status is ExecutionStatus.COMPLETED]
    held = [e for e in found if e.status is ExecutionStatus.WAITING]
    assert (len(completed), len(held)) == (2, 3)
    reason = held[0].waiting_reason
    assert reason is not None and reason["kind"] == "rate_limit"
    assert held[0].wake_at is not None and held[0].wake_at.second == 0

    backend.clock.advance(to=held[0].wake_at)
    await worker.run_until_idle()
    found = await states(backend, ids)
    assert sum(e.status is ExecutionStatus.COMPLETED for e in found) == 4

    backend.clock.advance(60)
    await worker.run_until_idle()
    found = await states(backend, ids)
    assert all(e.status is ExecutionStatus.COMPLETED for e in found)


async def test_an_execution_waiting_for_a_slot_still_times_out(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    timed = {**GATED, "settings": {**GATED["settings"], "execution_timeout": 60}}
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "timed", timed))
    ids = await start(engine, flow.id, [{"customer": "acme"}] * 3)
    await worker.run_until_idle()
    assert in_progress(await states(backend, ids)) == [True, True, False]

    backend.clock.advance(61)
    await worker.run_until_idle()

    found = await states(backend, ids)
    assert [e.status for e in found] == [ExecutionStatus.TIMED_OUT] * 3
    assert in_progress(found) == [False, False, False]
    async with backend.uow() as uow:  # every slot was given back: a new run starts at once
        taken = await uow.flow.acquire_slot(flow.id, "acme", 2)
    assert taken == (True, 1)
