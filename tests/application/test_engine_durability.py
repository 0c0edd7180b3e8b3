"""Durability: fencing of workers that lost their lease, and recovery of attempts a dead
worker left behind."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

from application.engine.runner import Advanced, Ending
from domain.events import EventType
from tests.application.conftest import Gate, Harness, chain, document, scripted

LEASE = timedelta(seconds=30)


async def claim_and_block(harness: Harness, gate: Gate) -> tuple[str, asyncio.Task[Advanced]]:
    """Worker w1 claims the execution and starts its first body, which blocks on `gate`."""
    harness.executor.on("slow", 1, gate)
    doc = document([scripted("slow"), scripted("next")], chain("slow", "next"))
    execution_id = await harness.start(await harness.create(doc))
    (lease,) = await harness.queue.claim("w1", 1, LEASE)
    task: asyncio.Task[Advanced] = asyncio.create_task(harness.engine.runner().advance(lease))
    await asyncio.wait_for(gate.entered.wait(), 5)
    return execution_id, task


def snapshot(harness: Harness, execution_id: str) -> object:
    return copy.deepcopy(
        (
            harness.store.executions[execution_id],
            harness.store.node_runs[execution_id],
            harness.store.event_log(execution_id),
        )
    )


async def test_a_worker_whose_lease_was_taken_over_writes_nothing(harness: Harness) -> None:
    gate = Gate()
    execution_id, stale_worker = await claim_and_block(harness, gate)
    del harness.executor.script[("slow", 1)]  # the second worker's body answers at once

    harness.clock.advance(LEASE.total_seconds() + 1)
    await harness.drain("w2")
    assert harness.status(execution_id) == "completed"
    before = snapshot(harness, execution_id)

    gate.opened.set()  # the first worker wakes up with a result and tries to commit it
    advanced = await asyncio.wait_for(stale_worker, 5)

    assert advanced.ending is Ending.LEASE_LOST
    assert snapshot(harness, execution_id) == before


async def test_a_worker_whose_lease_expired_cannot_commit_even_if_nobody_took_over(
    harness: Harness,
) -> None:
    gate = Gate()
    execution_id, stale_worker = await claim_and_block(harness, gate)
    before = snapshot(harness, execution_id)

    harness.clock.advance(LEASE.total_seconds())
    gate.opened.set()
    advanced = await asyncio.wait_for(stale_worker, 5)

    assert advanced.ending is Ending.LEASE_LOST
    assert snapshot(harness, execution_id) == before
    assert harness.node(execution_id, "slow").status.value == "running"


async def test_an_interrupted_attempt_is_rerun_by_another_worker_under_the_same_number(
    harness: Harness,
) -> None:
    gate = Gate()
    execution_id, dead_worker = await claim_and_block(harness, gate)
    dead_worker.cancel()  # the process dies: nothing more is written by it
    await asyncio.gather(dead_worker, return_exceptions=True)
    assert harness.node(execution_id, "slow").status.value == "running"
    del harness.executor.script[("slow", 1)]

    harness.queue.expire_leases()
    await harness.drain("w2")

    assert harness.status(execution_id) == "completed"
    assert harness.executor.attempts("slow") == [1, 1]
    assert harness.node(execution_id, "slow").attempt == 1
    slow_events = [(e.type, e.attempt) for e in harness.events(execution_id) if e.node_id == "slow"]
    assert slow_events == [
        (EventType.NODE_READY, None),
        (EventType.NODE_STARTED, 1),
        (EventType.NODE_INTERRUPTED, 1),
        (EventType.NODE_STARTED, 1),
        (EventType.NODE_SUCCEEDED, 1),
    ]
    interrupted = harness.first(execution_id, EventType.NODE_INTERRUPTED, "slow")
    assert interrupted.payload == {"reason": "worker_lost"}


async def test_a_crash_past_the_node_timeout_interrupts_the_attempt_and_uses_up_no_retry(
    harness: Harness,
) -> None:
    gate = Gate()
    harness.executor.on("slow", 1, gate)
    only_once = {"max_attempts": 1}
    execution_id = await harness.start(
        await harness.create(document([scripted("slow", timeout=5, retry=only_once)]))
    )
    (lease,) = await harness.queue.claim("w1", 1, LEASE)
    dead_worker = asyncio.create_task(harness.engine.runner().advance(lease))
    await asyncio.wait_for(gate.entered.wait(), 5)
    dead_worker.cancel()
    await asyncio.gather(dead_worker, return_exceptions=True)
    del harness.executor.script[("slow", 1)]

    harness.clock.advance(LEASE.total_seconds() + 1)  # well past the node's own timeout
    await harness.settle()

    assert harness.status(execution_id) == "completed"
    assert harness.executor.attempts("slow") == [1, 1]
    types = harness.types(execution_id, "slow")
    assert types.count(EventType.NODE_INTERRUPTED) == 1
    assert EventType.NODE_FAILED not in types
    assert EventType.NODE_RETRY_SCHEDULED not in types
