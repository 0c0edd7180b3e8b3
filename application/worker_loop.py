"""The worker's loop: claim executions, advance them concurrently, heartbeat their leases.

`run_until_idle()` drains everything due now and returns, for tests and one-shot
runs; `run()` serves until asked to stop. The process entry point adds signals,
logging and metrics around this.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from application.claim_pacing import ClaimPacing, PacingSettings
from application.engine.runner import Advanced, ExecutionRunner
from application.errors import StorageError
from application.ports.clock import Clock
from application.ports.queue import WorkQueue
from application.records import Lease
from application.use_cases.fire_schedules import FireDueSchedules, FireDueSchedulesHandler


@dataclass(frozen=True)
class WorkerSettings:
    worker_id: str
    concurrency: int = 10
    lease_for: timedelta = timedelta(seconds=30)
    heartbeat_every: float = 10.0
    poll_interval: float = 1.0
    schedule_every: float = 1.0
    reconnect_initial: float = 0.1
    reconnect_max: float = 5.0
    claim_window: float = 0.002
    """While executions are in flight, wait this long after a claim before the next one, so
    that slots freed and notifications that arrive meanwhile are served by one claim."""
    claim_backoff_max: float = 0.02
    """Claims woken by a notification that find nothing (another worker was faster) space
    the next claims out, doubling up to this."""
    timer_recheck_delay: float = 0.02
    """After a notification that brought no work, look up the next wake time this much later
    (a timer parked by another process is then followed at most this late)."""


@dataclass
class _InFlight:
    lease: Lease
    task: asyncio.Task[Advanced | None]
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerLoop:
    """Serves executions from the work queue; `clock` paces its claims and times its
    heartbeats and schedule ticks (a fake clock makes those waits return at once)."""

    def __init__(
        self,
        settings: WorkerSettings,
        queue: WorkQueue,
        runner: ExecutionRunner,
        clock: Clock,
        schedules: FireDueSchedulesHandler | None = None,
        on_advanced: Callable[[Advanced], None] | None = None,
        on_error: Callable[[str, Exception], None] | None = None,
        on_unavailable: Callable[[Exception, float], None] | None = None,
        on_lease_lost: Callable[[str], None] | None = None,
    ) -> None:
        """`on_lease_lost(execution_id)`: a heartbeat found the lease of an execution in
        flight gone (its advance is then cancelled); an advance whose writes were rejected
        reports `Ending.LEASE_LOST` through `on_advanced` instead."""
        self.settings = settings
        self._queue = queue
        self._runner = runner
        self._clock = clock
        self._schedules = schedules
        self._on_advanced = on_advanced
        self._on_error = on_error
        self._on_unavailable = on_unavailable
        self._on_lease_lost = on_lease_lost
        self._in_flight: dict[str, _InFlight] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._pace = ClaimPacing(
            PacingSettings(
                settings.claim_window, settings.claim_backoff_max, settings.timer_recheck_delay
            ),
            clock,
        )
        self._notified = False
        self._may_have_work = True
        """Whether a claim may find something: a freed slot alone does not make it so."""

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Advance everything that is due now; return how many advances ran."""
        advanced = 0
        for _ in range(max_rounds):
            if self._schedules is not None:
                await self._schedules(FireDueSchedules())
            leases = await self._queue.claim(
                self.settings.worker_id, self.settings.concurrency, self.settings.lease_for
            )
            if not leases:
                return advanced
            results = await asyncio.gather(*(self._runner.advance(lease) for lease in leases))
            for result in results:
                self._report(result)
            advanced += len(leases)
        return advanced

    async def run(self) -> None:
        """Serve until `stop()`; then stop claiming and let in-flight executions finish."""
        beats = asyncio.create_task(self._heartbeats())
        ticks = asyncio.create_task(self._schedule_ticks())
        backoff = self.settings.reconnect_initial
        try:
            while not self._stopping.is_set():
                try:
                    await self._claim_once()
                    await self._wait_for_work()
                    backoff = self.settings.reconnect_initial
                except StorageError as error:
                    # The database is away (restart, failover, network): keep the worker
                    # alive and try again, backing off, instead of exiting.
                    if self._on_unavailable is not None:
                        self._on_unavailable(error, backoff)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, self.settings.reconnect_max)
        finally:
            beats.cancel()
            ticks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(beats, ticks, return_exceptions=True)

    def stop(self) -> None:
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` on the clock, or less if `stop()` comes first."""
        if seconds <= 0 or self._stopping.is_set():
            return
        await _first_of(self._clock.sleep(seconds), self._stopping.wait())

    def cancel_requested(self, execution_id: str) -> None:
        """A cancel was committed for an execution: interrupt its in-flight node bodies now."""
        flight = self._in_flight.get(execution_id)
        if flight is not None:
            flight.cancelled.set()

    async def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for in-flight executions, then give their leases back.

        Heartbeats go on meanwhile: `run()` stopped them, and a node that outlasts the lease
        must still be able to commit its result.
        """
        tasks = [flight.task for flight in self._in_flight.values()]
        if tasks and grace > 0:
            beats = asyncio.create_task(self._heartbeats())
            try:
                await _first_of(asyncio.wait(tasks), self._clock.sleep(grace))
            finally:
                beats.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(beats, return_exceptions=True)
        for flight in list(self._in_flight.values()):
            flight.task.cancel()
            with contextlib.suppress(BaseException):
                await flight.task
            with contextlib.suppress(StorageError):  # unreleased, the lease simply expires
                await self._queue.release(flight.lease)
        self._in_flight.clear()

    async def _claim_once(self) -> None:
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0 or not self._may_have_work:
            return
        await self._pause(self._pace.claim_delay(busy=bool(self._in_flight)))
        if self._stopping.is_set():
            return
        leases = await self._queue.claim(self.settings.worker_id, free, self.settings.lease_for)
        self._pace.claimed(asked=free, got=len(leases), notified=self._notified)
        # A claim that filled every free slot may have left more behind; one that did not
        # emptied what was due: the next claim waits for a notification or a timer.
        self._may_have_work = len(leases) == free
        for lease in leases:
            cancelled = asyncio.Event()
            task = asyncio.create_task(self._advance(lease, cancelled))
            flight = _InFlight(lease, task, cancelled)
            self._in_flight[lease.execution_id] = flight
            # A callback, not a `finally` in the coroutine: a task cancelled before it
            # started never runs its body, and its slot must still be freed.
            task.add_done_callback(functools.partial(self._landed, flight))

    async def _advance(self, lease: Lease, cancelled: asyncio.Event) -> Advanced | None:
        try:
            result = await self._runner.advance(lease, cancelled)
            self._report(result)
            return result
        except Exception as error:  # the lease lapses and another attempt comes later
            if self._on_error is not None:
                self._on_error(lease.execution_id, error)
            return None

    def _landed(self, flight: _InFlight, _task: object = None) -> None:
        """An advance ended (or was cancelled): free its slot and wake the claim loop."""
        if self._in_flight.get(flight.lease.execution_id) is flight:
            del self._in_flight[flight.lease.execution_id]
        self._wake.set()

    async def _wait_for_work(self) -> None:
        if self._stopping.is_set():
            return
        waiters: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._stopping.wait()),
            asyncio.create_task(self._wake.wait()),
        ]
        queue_waiter: asyncio.Task[bool] | None = None
        if len(self._in_flight) < self.settings.concurrency:
            timeout = await self._timer_timeout()
            queue_waiter = asyncio.create_task(self._queue.wait_for_work(timeout))
            waiters.append(queue_waiter)
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()
        self._wake.clear()
        # True: a notification; False: the wait for a timer ran out; None: something else.
        heard = _answer(queue_waiter)
        # A notification wakes every worker; only claims it triggers are races to pace.
        self._notified = heard is True
        if heard is not None:
            self._may_have_work = True

    async def _timer_timeout(self) -> float:
        """Seconds until the next known wake time (at most the poll interval).

        The database is asked only when the last answer is due: a claim woken by a
        notification that found less work than it asked for schedules a re-check shortly
        after (`ClaimPacing.claimed`).
        """
        remaining = self._pace.timer_remaining()
        if remaining is None:
            remaining = await self._queue.next_wake_in(self.settings.poll_interval)
            self._pace.timer_known(remaining)
        return remaining

    async def _heartbeats(self) -> None:
        while True:
            await self._clock.sleep(self.settings.heartbeat_every)
            # A failed beat (database away) must not end the beating: the next one may land
            # before the leases run out.
            with contextlib.suppress(StorageError):
                await self._beat()

    async def _beat(self) -> None:
        # Judge only the flights this beat asked about: one claimed while the beat was on
        # the wire is missing from the answer without having lost anything.
        flights = list(self._in_flight.values())
        if not flights:
            return
        leases = [flight.lease for flight in flights]
        kept = {
            lease.execution_id: lease
            for lease in await self._queue.heartbeat(leases, self.settings.lease_for)
        }
        for flight in flights:
            renewed = kept.get(flight.lease.execution_id)
            if renewed is None:
                self._lost(flight)
            elif renewed.cancel_requested:
                flight.cancelled.set()

    def _lost(self, flight: _InFlight) -> None:
        """Cancel a flight whose lease is gone: any write it tried would be rejected anyway.
        One that already ended has reported how (a rejected write included)."""
        if flight.task.done():
            return
        flight.task.cancel()
        if self._on_lease_lost is not None:
            self._on_lease_lost(flight.lease.execution_id)

    async def _schedule_ticks(self) -> None:
        if self._schedules is None:
            return
        while True:
            try:
                await self._schedules(FireDueSchedules())
            except Exception as error:  # e.g. the database is restarting: try next tick
                if self._on_error is not None:
                    self._on_error("schedules", error)
            await self._clock.sleep(self.settings.schedule_every)

    def _report(self, result: Advanced) -> None:
        if self._on_advanced is not None:
            self._on_advanced(result)


async def _first_of(*waits: Coroutine[Any, Any, object]) -> None:
    """Wait until the first of `waits` is over; the others are cancelled."""
    tasks = [asyncio.create_task(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _answer(task: asyncio.Task[bool] | None) -> bool | None:
    """What a finished task returned; None if it is absent, still running or cancelled."""
    if task is None or not task.done() or task.cancelled():
        return None
    return task.result()
