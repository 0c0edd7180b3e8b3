"""When the worker loop claims: a claim that came back short is not repeated for a freed
slot alone, only after a notification or a timer; a claim that filled every free slot is.

The queue here is the in-memory one with its claims counted, except that its wake-ups come
from the test alone (`notify`), not from every commit the engine makes, so that what
triggers each claim is known. The loop is observed at its next wait for work: by then it
has decided whether to claim.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from adapters.clock import SystemClock
from adapters.memory.queue import InMemoryWorkQueue
from application.records import Lease
from application.worker_loop import WorkerLoop, WorkerSettings
from tests.application.conftest import Gate, Harness, document, eventually, scripted

QUIET = 60.0  # seconds: a poll interval no test waits out


class HintedQueue:
    """The in-memory queue with counted claims and calls to wait, woken only by `notify`."""

    def __init__(self, inner: InMemoryWorkQueue) -> None:
        self._inner = inner
        self._notified = asyncio.Event()
        self.claims: list[tuple[int, int]] = []
        """(asked, got) for every claim, in order."""
        self.woken: list[bool] = []
        """What every finished wait for work answered: False when it timed out."""
        self.waits = 0

    def notify(self) -> None:
        self._notified.set()

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        leases = await self._inner.claim(worker_id, limit, lease_for)
        self.claims.append((limit, len(leases)))
        return leases

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        return await self._inner.heartbeat(leases, lease_for)

    async def release(self, lease: Lease) -> None:
        await self._inner.release(lease)

    async def wait_for_work(self, timeout: float) -> bool:
        self.waits += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._notified.wait(), timeout)
        woke = self._notified.is_set()
        self._notified.clear()
        self.woken.append(woke)
        return woke

    async def next_wake_in(self, max_seconds: float) -> float:
        return await self._inner.next_wake_in(max_seconds)


@asynccontextmanager
async def serving(
    harness: Harness, queue: HintedQueue, concurrency: int, poll_interval: float = QUIET
) -> AsyncIterator[WorkerLoop]:
    """A worker loop running on `queue`; stopped, and its flights cancelled, at the end."""
    settings = WorkerSettings("w1", concurrency=concurrency, poll_interval=poll_interval)
    loop = WorkerLoop(settings, queue, harness.engine.runner(), SystemClock())
    running = asyncio.create_task(loop.run())
    try:
        yield loop
    finally:
        loop.stop()
        await asyncio.wait_for(running, 5)
        await loop.drain(grace=0)


async def gated_runs(harness: Harness, count: int) -> list[tuple[str, Gate]]:
    """`count` started executions, each blocked in its own node until its gate opens."""
    runs = []
    known = len(harness.store.workflows)
    for number in range(known, known + count):
        gate = Gate()
        harness.executor.on(f"step{number}", 1, gate)
        workflow = await harness.create(document([scripted(f"step{number}")]), f"wf{number}")
        runs.append((await harness.start(workflow), gate))
    return runs


async def waits_reach(queue: HintedQueue, count: int) -> None:
    """Wait until the loop has begun its `count`-th wait for work."""
    await eventually(lambda: queue.waits >= count)


async def test_a_freed_slot_after_a_short_claim_does_not_claim(harness: Harness) -> None:
    [(execution, gate)] = await gated_runs(harness, 1)
    queue = HintedQueue(harness.queue)
    async with serving(harness, queue, concurrency=2) as loop:
        await asyncio.wait_for(gate.entered.wait(), 5)
        await waits_reach(queue, 1)
        assert queue.claims == [(2, 1)]  # short: whatever was due, it took

        gate.opened.set()
        await eventually(lambda: harness.status(execution) == "completed")
        await eventually(lambda: loop.in_flight == 0)
        await waits_reach(queue, 2)  # woken by the freed slot, back to waiting

        assert queue.claims == [(2, 1)]


async def test_a_claim_that_filled_every_free_slot_claims_again_when_a_slot_frees(
    harness: Harness,
) -> None:
    runs = await gated_runs(harness, 3)
    queue = HintedQueue(harness.queue)
    async with serving(harness, queue, concurrency=2) as loop:
        await eventually(lambda: sum(gate.entered.is_set() for _, gate in runs) == 2)
        assert queue.claims == [(2, 2)]
        first_done = next(gate for _, gate in runs if gate.entered.is_set())
        [left_behind] = [gate for _, gate in runs if not gate.entered.is_set()]

        first_done.opened.set()
        await asyncio.wait_for(left_behind.entered.wait(), 5)

        assert queue.claims == [(2, 2), (1, 1)]
        assert loop.in_flight == 2


async def test_once_a_claim_comes_back_short_freed_slots_stop_claiming(
    harness: Harness,
) -> None:
    runs = await gated_runs(harness, 2)
    queue = HintedQueue(harness.queue)
    async with serving(harness, queue, concurrency=2) as loop:
        await eventually(lambda: all(gate.entered.is_set() for _, gate in runs))
        [(first, first_gate), (second, second_gate)] = runs

        first_gate.opened.set()  # the last claim filled both slots: claim for the freed one
        await eventually(lambda: len(queue.claims) == 2)
        await waits_reach(queue, 1)
        assert queue.claims == [(2, 2), (1, 0)]

        second_gate.opened.set()  # the last claim came back empty: no claim for this one
        await eventually(lambda: harness.status(second) == "completed" and loop.in_flight == 0)
        await waits_reach(queue, 2)

        assert harness.status(first) == "completed"
        assert queue.claims == [(2, 2), (1, 0)]


async def test_a_notification_after_a_short_claim_makes_the_next_claim(harness: Harness) -> None:
    [(_, gate)] = await gated_runs(harness, 1)
    queue = HintedQueue(harness.queue)
    async with serving(harness, queue, concurrency=2):
        await asyncio.wait_for(gate.entered.wait(), 5)
        await waits_reach(queue, 1)
        [(later, later_gate)] = await gated_runs(harness, 1)
        assert queue.claims == [(2, 1)]

        queue.notify()
        await asyncio.wait_for(later_gate.entered.wait(), 5)

        assert queue.claims[1] == (1, 1)  # one slot left free, and the announced run took it
        assert harness.status(later) == "running"


async def test_a_timer_that_ran_out_after_a_short_claim_makes_the_next_claim(
    harness: Harness,
) -> None:
    [(_, gate)] = await gated_runs(harness, 1)
    queue = HintedQueue(harness.queue)
    async with serving(harness, queue, concurrency=2, poll_interval=0.01):
        await asyncio.wait_for(gate.entered.wait(), 5)
        [(_, later_gate)] = await gated_runs(harness, 1)  # announced to nobody

        await asyncio.wait_for(later_gate.entered.wait(), 5)

        assert queue.claims[0] == (2, 1)
        assert queue.claims[-1] == (1, 1)
        assert queue.woken  # every claim after the first followed a wait that timed out
        assert not any(queue.woken)
