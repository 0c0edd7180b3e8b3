"""The worker loop's bookkeeping of in-flight executions under heartbeats."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from adapters.memory.queue import InMemoryWorkQueue
from application.records import Lease
from application.worker_loop import WorkerLoop, WorkerSettings
from tests.application.conftest import Gate, Harness, document, eventually, scripted


class HeldHeartbeatQueue:
    """The in-memory queue, except that a heartbeat waits until the test lets it answer."""

    def __init__(self, inner: InMemoryWorkQueue) -> None:
        self._inner = inner
        self.beating = asyncio.Event()
        self.answer = asyncio.Event()

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        return await self._inner.claim(worker_id, limit, lease_for)

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        self.beating.set()
        await self.answer.wait()
        return await self._inner.heartbeat(leases, lease_for)

    async def release(self, lease: Lease) -> None:
        await self._inner.release(lease)

    async def wait_for_work(self, timeout: float) -> bool:
        return await self._inner.wait_for_work(timeout)

    async def next_wake_in(self, max_seconds: float) -> float:
        return await self._inner.next_wake_in(max_seconds)


async def test_a_claim_made_while_a_heartbeat_is_on_the_wire_is_not_taken_for_lost(
    harness: Harness,
) -> None:
    first_gate, second_gate = Gate(), Gate()
    harness.executor.on("first", 1, first_gate)
    harness.executor.on("second", 1, second_gate)
    queue = HeldHeartbeatQueue(harness.queue)
    settings = WorkerSettings("w1", heartbeat_every=0.01, poll_interval=0.01)
    loop = WorkerLoop(settings, queue, harness.engine.runner(), harness.clock)
    serving = asyncio.create_task(loop.run())
    try:
        first = await harness.start(await harness.create(document([scripted("first")]), "a"))
        await asyncio.wait_for(first_gate.entered.wait(), 5)
        await asyncio.wait_for(queue.beating.wait(), 5)  # the beat asks about `first` only
        second = await harness.start(await harness.create(document([scripted("second")]), "b"))
        await asyncio.wait_for(second_gate.entered.wait(), 5)
        queue.answer.set()  # the answer renews `first`, and says nothing of `second`
        await eventually(lambda: loop.in_flight == 2 and not second_gate.cancelled, 1.0)
        first_gate.opened.set()
        second_gate.opened.set()
        await eventually(lambda: {harness.status(first), harness.status(second)} == {"completed"})
        await eventually(lambda: loop.in_flight == 0)
        assert not second_gate.cancelled
    finally:
        loop.stop()
        await asyncio.wait_for(serving, 5)


async def test_a_flight_cancelled_before_it_started_frees_its_slot(harness: Harness) -> None:
    gate = Gate()
    harness.executor.on("only", 1, gate)
    loop = harness.worker(poll_interval=0.01)
    serving = asyncio.create_task(loop.run())
    try:
        await harness.start(await harness.create(document([scripted("only")])))
        await asyncio.wait_for(gate.entered.wait(), 5)
        assert loop.in_flight == 1
        harness.queue.expire_leases()
        loop.stop()
        await asyncio.wait_for(serving, 5)
        await loop.drain(grace=0)
        assert loop.in_flight == 0
        assert gate.cancelled
    finally:
        loop.stop()
