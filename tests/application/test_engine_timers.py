"""Durable waits: delay nodes, wait-for-signal (before, after, timeout) and execution
deadlines, all on the fake clock."""

from __future__ import annotations

from datetime import timedelta

from application.ports.executors import NodeCall, NodeResult, Succeeded
from application.use_cases.deliver_signal import DeliverSignal
from domain.events import EventType
from tests.application.conftest import (
    WORKSPACE,
    Gate,
    Harness,
    chain,
    document,
    node,
    scripted,
)


async def signal(harness: Harness, execution_id: str, name: str, payload: object) -> None:
    await harness.engine.deliver_signal()(DeliverSignal(WORKSPACE, execution_id, name, payload))


async def test_a_delay_parks_the_execution_and_resumes_at_the_wake_time_not_before(
    harness: Harness,
) -> None:
    t0 = harness.clock.now()
    doc = document(
        [node("pause", "delay", config={"seconds": 30}), scripted("after")], chain("pause", "after")
    )
    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "waiting"
    assert harness.execution(execution_id).wake_at == t0 + timedelta(seconds=30)
    harness.clock.advance(29.999)
    assert await harness.drain() == 0
    assert harness.node(execution_id, "pause").status.value == "waiting"
    assert harness.executor.calls == []

    harness.clock.advance(0.001)
    await harness.drain()

    assert harness.status(execution_id) == "completed"
    done = harness.first(execution_id, EventType.NODE_SUCCEEDED, "pause")
    assert done.created_at == t0 + timedelta(seconds=30)
    assert harness.executor.calls[0].now == t0 + timedelta(seconds=30)


async def test_a_signal_sent_before_the_node_waits_is_kept_and_taken(harness: Harness) -> None:
    doc = document([node("approval", "wait_for_signal", config={"signal": "approve"})])
    execution_id = await harness.start(await harness.create(doc))

    await signal(harness, execution_id, "approve", {"by": "ada"})
    await harness.drain()

    assert harness.status(execution_id) == "completed"
    assert harness.node(execution_id, "approval").output == {
        "signal": "approve",
        "payload": {"by": "ada"},
    }


async def test_a_signal_sent_while_the_node_waits_wakes_the_execution(harness: Harness) -> None:
    doc = document([node("approval", "wait_for_signal", config={"signal": "approve"})])
    execution_id = await harness.run(doc)
    assert harness.status(execution_id) == "waiting"
    assert await harness.drain() == 0

    await signal(harness, execution_id, "other", 1)
    await signal(harness, execution_id, "approve", 2)
    await harness.drain()

    assert harness.status(execution_id) == "completed"
    assert harness.node(execution_id, "approval").output == {"signal": "approve", "payload": 2}
    consumed = {s.name: s.consumed_by for s in harness.store.signals[execution_id]}
    assert consumed == {"other": None, "approve": "approval"}


async def test_a_signal_wait_fails_at_its_timeout_and_not_before(harness: Harness) -> None:
    config = {"signal": "approve", "timeout_seconds": 10}
    doc = document([node("approval", "wait_for_signal", config=config)])
    execution_id = await harness.run(doc)

    harness.clock.advance(9.999)
    assert await harness.drain() == 0
    assert harness.status(execution_id) == "waiting"

    harness.clock.advance(0.001)
    await harness.drain()

    assert harness.status(execution_id) == "failed"
    run = harness.node(execution_id, "approval")
    assert run.error is not None and run.error["kind"] == "signal_timeout"


async def test_the_execution_deadline_times_out_a_parked_execution_and_cancels_its_nodes(
    harness: Harness,
) -> None:
    t0 = harness.clock.now()
    doc = document(
        [node("pause", "delay", config={"seconds": 300}), node("after")],
        chain("pause", "after"),
        execution_timeout=60,
    )
    execution_id = await harness.run(doc)
    assert harness.execution(execution_id).wake_at == t0 + timedelta(seconds=60)

    harness.clock.advance(59.999)
    assert await harness.drain() == 0
    harness.clock.advance(0.001)
    await harness.drain()

    assert harness.status(execution_id) == "timed_out"
    assert harness.node_statuses(execution_id) == {"pause": "cancelled", "after": "cancelled"}
    assert harness.types(execution_id)[-1] == EventType.EXECUTION_TIMED_OUT


async def test_bodies_in_flight_at_the_execution_deadline_are_cancelled(
    harness: Harness,
) -> None:
    gate = Gate()

    async def finish_after_the_deadline(call: NodeCall) -> NodeResult:
        harness.clock.advance(61)
        return Succeeded(output="too late")

    harness.executor.on("late", 1, finish_after_the_deadline)
    harness.executor.on("stuck", 1, gate)
    doc = document([scripted("late"), scripted("stuck")], execution_timeout=60)

    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "timed_out"
    assert harness.node_statuses(execution_id) == {"late": "cancelled", "stuck": "cancelled"}
    assert gate.cancelled  # the body still running was told to stop
    assert (
        harness.node(execution_id, "late").output is None
    )  # a result after the deadline is dropped
