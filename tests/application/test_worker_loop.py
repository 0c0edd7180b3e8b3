"""The worker loop's bookkeeping of in-flight executions under heartbeats, and its waits,
which are all the clock's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from adapters.clock import FakeClock, SystemClock
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
    loop = WorkerLoop(settings, queue, harness.engine.runner(), SystemClock())
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


class HandClock(FakeClock):
    """A fake clock whose sleeps last until the test ends them all (`wake_sleepers`)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []
        self._sleepers: list[asyncio.Future[None]] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        sleeper = asyncio.get_running_loop().create_future()
        self._sleepers.append(sleeper)
        await sleeper

    def wake_sleepers(self) -> None:
        for sleeper in self._sleepers:
            if not sleeper.done():
                sleeper.set_result(None)
        self._sleepers.clear()


class CountedQueue(HeldHeartbeatQueue):
    """The in-memory queue with its claims and heartbeats counted; heartbeats answer at once."""

    def __init__(self, inner: InMemoryWorkQueue) -> None:
        super().__init__(inner)
        self.answer.set()
        self.claims = 0
        self.heartbeats = 0

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        self.claims += 1
        return await super().claim(worker_id, limit, lease_for)

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        self.heartbeats += 1
        return await super().heartbeat(leases, lease_for)


async def test_heartbeats_wait_on_the_loops_clock(harness: Harness) -> None:
    gate = Gate()
    harness.executor.on("only", 1, gate)
    queue, clock = CountedQueue(harness.queue), HandClock()
    settings = WorkerSettings("w1", heartbeat_every=7.0, poll_interval=0.01)
    loop = WorkerLoop(settings, queue, harness.engine.runner(), clock)
    serving = asyncio.create_task(loop.run())
    try:
        await harness.start(await harness.create(document([scripted("only")])))
        await asyncio.wait_for(gate.entered.wait(), 5)
        await eventually(lambda: 7.0 in clock.sleeps)
        assert queue.heartbeats == 0

        clock.wake_sleepers()

        await eventually(lambda: queue.heartbeats == 1)
        await eventually(lambda: clock.sleeps.count(7.0) == 2)  # and waits for the next
        assert queue.heartbeats == 1
    finally:
        gate.opened.set()
        loop.stop()
        await asyncio.wait_for(serving, 5)
        await loop.drain(grace=0)


async def busy_worker_paused_for_its_claim_window(
    harness: Harness, clock: HandClock, queue: CountedQueue
) -> tuple[WorkerLoop, asyncio.Task[None], Gate]:
    """A loop serving one gated execution with a slot free, paused before its next claim
    (woken by the second execution's start) until the clock's sleeps end."""
    first, second = Gate(), Gate()
    harness.executor.on("first", 1, first)
    harness.executor.on("second", 1, second)
    settings = WorkerSettings("w1", concurrency=2, claim_window=30.0, claim_backoff_max=30.0)
    loop = WorkerLoop(settings, queue, harness.engine.runner(), clock)
    serving = asyncio.create_task(loop.run())
    await harness.start(await harness.create(document([scripted("first")]), "a"))
    await asyncio.wait_for(first.entered.wait(), 5)
    await harness.start(await harness.create(document([scripted("second")]), "b"))
    await eventually(lambda: 30.0 in clock.sleeps)
    return loop, serving, second


async def test_a_busy_worker_waits_its_claim_window_on_its_clock(harness: Harness) -> None:
    clock, queue = HandClock(), CountedQueue(harness.queue)
    loop, serving, second = await busy_worker_paused_for_its_claim_window(harness, clock, queue)
    try:
        assert queue.claims == 1
        assert not second.entered.is_set()

        clock.wake_sleepers()

        await asyncio.wait_for(second.entered.wait(), 5)
        assert queue.claims == 2
    finally:
        loop.stop()
        await asyncio.wait_for(serving, 5)
        await loop.drain(grace=0)


async def test_stop_ends_a_pause_before_the_clock_does(harness: Harness) -> None:
    clock, queue = HandClock(), CountedQueue(harness.queue)
    loop, serving, second = await busy_worker_paused_for_its_claim_window(harness, clock, queue)

    loop.stop()

    await asyncio.wait_for(serving, 5)
    await loop.drain(grace=0)
    assert queue.claims == 1
    assert not second.entered.is_set()


async def test_a_drain_gives_in_flight_executions_their_grace_on_the_clock(
    harness: Harness,
) -> None:
    gate = Gate()
    harness.executor.on("only", 1, gate)
    clock = HandClock()
    loop = WorkerLoop(WorkerSettings("w1"), harness.queue, harness.engine.runner(), clock)
    serving = asyncio.create_task(loop.run())
    await harness.start(await harness.create(document([scripted("only")])))
    await asyncio.wait_for(gate.entered.wait(), 5)
    loop.stop()
    await asyncio.wait_for(serving, 5)

    draining = asyncio.create_task(loop.drain(grace=45.0))
    await eventually(lambda: 45.0 in clock.sleeps)
    assert not draining.done() and not gate.cancelled

    clock.wake_sleepers()  # the grace is over

    await asyncio.wait_for(draining, 5)
    assert gate.cancelled
    assert loop.in_flight == 0
