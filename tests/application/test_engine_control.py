"""Controlling executions: cancel (idle or running), retry from failed nodes, re-run,
and idempotency keys on run requests."""

from __future__ import annotations

import asyncio

import pytest

from application.errors import Conflict
from application.ports.executors import Failed
from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.rerun_execution import RerunExecution
from application.use_cases.retry_execution import RetryExecution
from domain.events import EventType
from domain.policies import NodeError
from tests.application.conftest import (
    WORKSPACE,
    Gate,
    Harness,
    chain,
    document,
    eventually,
    node,
    scripted,
)

SLOW_CHAIN = document([scripted("slow"), scripted("next")], chain("slow", "next"))


async def cancel(harness: Harness, execution_id: str) -> str:
    done = await harness.engine.cancel_execution()(CancelExecution(WORKSPACE, execution_id))
    return done.status.value


async def test_cancelling_a_pending_execution_ends_it_at_once(harness: Harness) -> None:
    execution_id = await harness.start(await harness.create(SLOW_CHAIN))

    assert await cancel(harness, execution_id) == "cancelled"
    assert await harness.drain() == 0
    assert set(harness.node_statuses(execution_id).values()) == {"cancelled"}
    assert harness.executor.calls == []
    with pytest.raises(Conflict):
        await cancel(harness, execution_id)


async def test_cancelling_a_waiting_execution_ends_it_at_once(harness: Harness) -> None:
    doc = document(
        [node("pause", "delay", config={"seconds": 60}), scripted("after")], chain("pause", "after")
    )
    execution_id = await harness.run(doc)
    assert harness.status(execution_id) == "waiting"

    assert await cancel(harness, execution_id) == "cancelled"
    harness.clock.advance(120)
    assert await harness.drain() == 0
    assert harness.node_statuses(execution_id) == {"pause": "cancelled", "after": "cancelled"}
    assert harness.executor.calls == []


async def test_a_served_execution_cancels_its_in_flight_body(harness: Harness) -> None:
    gate = Gate()
    harness.executor.on("slow", 1, gate)
    execution_id = await harness.start(await harness.create(SLOW_CHAIN))
    worker = harness.worker(heartbeat_every=0.005, poll_interval=0.01)
    serving = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(gate.entered.wait(), 5)
        assert await cancel(harness, execution_id) == "running"  # requested, not yet done
        await eventually(lambda: harness.status(execution_id) == "cancelled")
    finally:
        worker.stop()
        await asyncio.wait_for(serving, 5)

    assert gate.cancelled
    assert harness.node_statuses(execution_id) == {"slow": "cancelled", "next": "cancelled"}
    assert harness.executor.attempts("next") == []


async def cancel_while_running_then_let_the_body_finish(harness: Harness) -> str:
    gate = Gate()
    harness.executor.on("slow", 1, gate)
    execution_id = await harness.start(await harness.create(SLOW_CHAIN))
    draining = asyncio.create_task(harness.drain())
    await asyncio.wait_for(gate.entered.wait(), 5)

    assert await cancel(harness, execution_id) == "running"
    gate.opened.set()  # the body finishes: the next boundary
    await asyncio.wait_for(draining, 5)
    return execution_id


async def test_cancelling_a_running_execution_stops_it_at_the_next_boundary(
    harness: Harness,
) -> None:
    execution_id = await cancel_while_running_then_let_the_body_finish(harness)

    assert harness.status(execution_id) == "cancelled"
    assert harness.node(execution_id, "next").status.value == "cancelled"
    types = harness.types(execution_id)
    assert types.index(EventType.EXECUTION_CANCEL_REQUESTED) < types.index(
        EventType.EXECUTION_CANCELLED
    )


async def test_no_node_starts_after_the_cancel_request_is_committed(harness: Harness) -> None:
    execution_id = await cancel_while_running_then_let_the_body_finish(harness)

    types = harness.types(execution_id)
    requested = types.index(EventType.EXECUTION_CANCEL_REQUESTED)
    assert EventType.NODE_STARTED not in types[requested:]
    assert harness.executor.attempts("next") == []


async def test_retrying_a_failed_execution_reruns_only_its_failed_nodes(harness: Harness) -> None:
    harness.executor.on("flaky", 1, Failed(NodeError("http_400", "nope", retryable=False)))
    doc = document(
        [scripted("first"), scripted("flaky"), scripted("last")], chain("first", "flaky", "last")
    )
    execution_id = await harness.run(doc)
    assert harness.status(execution_id) == "failed"
    kept = harness.node(execution_id, "first").output

    del harness.executor.script[("flaky", 1)]  # the outside problem went away
    retried = await harness.engine.retry_execution()(RetryExecution(WORKSPACE, execution_id))
    assert retried.status.value == "pending"
    await harness.drain()

    assert harness.status(execution_id) == "completed"
    assert [call.node_id for call in harness.executor.calls] == ["first", "flaky", "flaky", "last"]
    assert harness.node(execution_id, "first").output == kept
    assert harness.types(execution_id, "first").count(EventType.NODE_SUCCEEDED) == 1
    assert EventType.EXECUTION_RETRIED in harness.types(execution_id)


async def test_only_failed_or_timed_out_executions_can_be_retried(harness: Harness) -> None:
    execution_id = await harness.run(document([scripted("only")]))
    assert harness.status(execution_id) == "completed"

    with pytest.raises(Conflict):
        await harness.engine.retry_execution()(RetryExecution(WORKSPACE, execution_id))


async def test_a_rerun_is_a_new_execution_with_the_same_input(harness: Harness) -> None:
    original = await harness.run(document([scripted("only")]), {"order": 7})

    rerun = await harness.engine.rerun_execution()(RerunExecution(WORKSPACE, original))
    await harness.drain()

    assert rerun.id != original
    assert (rerun.input, rerun.rerun_of, rerun.version) == ({"order": 7}, original, 1)
    assert harness.status(rerun.id) == "completed"
    assert harness.status(original) == "completed"
    assert len(harness.executor.calls) == 2


async def test_an_idempotency_key_returns_the_execution_it_first_started(
    harness: Harness,
) -> None:
    workflow_id = await harness.create(document([scripted("only")]))

    first = await harness.start(workflow_id, {"a": 1}, idempotency_key="order-7")
    again = await harness.start(workflow_id, {"a": 2}, idempotency_key="order-7")
    other = await harness.start(workflow_id, {"a": 1}, idempotency_key="order-8")

    assert again == first
    assert other != first
    assert harness.execution(first).input == {"a": 1}
    assert len(harness.store.executions) == 2
