"""Group commit: concurrent runners share transactions, and one member's trouble (a lost
lease, a broken step, a crash at commit) is handled without stalling the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

import pytest
from dependency_injector import providers

from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.engine.group_commit import MAX_BATCH
from application.engine.runner import Advanced, Ending
from application.nodes.builtin import builtin_executors
from application.ports.executors import NodeCall, NodeResult, Succeeded
from application.records import Lease
from domain.definition import NodeKind
from domain.events import EventType
from domain.execution import Execution
from domain.node_run import NodeRun
from tests.application.conftest import (
    SCRIPTED_KIND,
    Harness,
    assert_gapless_events,
    build_harness,
    document,
    eventually,
    node,
    scripted,
)

LEASE = timedelta(seconds=30)
WAIT = 5.0  # seconds: a runner that is left hanging fails the test instead of stalling it


class Crash(BaseException):
    """What the process going away looks like to the code it interrupts."""


@dataclass
class TransactionLog:
    """What the runner's transactions did: commits, and the executions each one locked."""

    commits: int = 0
    locked: list[list[str]] = field(default_factory=list)
    crash_next_commit: BaseException | None = None
    hold_commits: asyncio.Event | None = None
    committing: asyncio.Event = field(default_factory=asyncio.Event)

    def forget(self) -> None:
        self.commits = 0
        self.locked.clear()


class _LockRecorder:
    """An execution repository that notes which executions each lock asked for."""

    def __init__(self, inner: Any, log: TransactionLog) -> None:
        self._inner = inner
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def lock_leased_with_runs(
        self, leases: Sequence[Lease], runs_of: Sequence[str]
    ) -> tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]:
        self._log.locked.append([lease.execution_id for lease in leases])
        found: tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]
        found = await self._inner.lock_leased_with_runs(leases, runs_of)
        return found


class _RecordingUnitOfWork:
    def __init__(self, inner: Any, log: TransactionLog) -> None:
        self._inner = inner
        self._log = log
        self.executions = _LockRecorder(inner.executions, log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _RecordingUnitOfWork:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        self._log.committing.set()
        if self._log.hold_commits is not None:
            await self._log.hold_commits.wait()
        crash, self._log.crash_next_commit = self._log.crash_next_commit, None
        if crash is not None:
            raise crash
        await self._inner.commit()
        self._log.commits += 1


class RecordingUnitOfWorkFactory:
    """Wraps the in-memory factory so a test sees (and can disturb) every transaction."""

    def __init__(self, inner: InMemoryUnitOfWorkFactory, log: TransactionLog) -> None:
        self._inner = inner
        self._log = log

    def __call__(self) -> _RecordingUnitOfWork:
        return _RecordingUnitOfWork(self._inner(), self._log)


class BreakableNoop:
    """The noop node (inline: it runs inside the step), except that it raises for the
    executions named in `broken`, as a bug in a step would."""

    inline = True

    def __init__(self) -> None:
        self.broken: set[str] = set()

    def decide(self, call: NodeCall) -> NodeResult:
        if call.execution_id in self.broken:
            raise RuntimeError(f"the step of {call.execution_id} broke")
        return Succeeded(output=None)

    async def run(self, call: NodeCall) -> NodeResult:
        return self.decide(call)


class SharedGate:
    """A node body that counts the bodies waiting on it and lets them all go at once."""

    def __init__(self) -> None:
        self.waiting = 0
        self.opened = asyncio.Event()

    async def __call__(self, call: NodeCall) -> NodeResult:
        self.waiting += 1
        await self.opened.wait()
        return Succeeded(output={"passed": call.execution_id})


@dataclass
class Rig:
    harness: Harness
    log: TransactionLog
    noop: BreakableNoop

    async def start_many(self, doc: dict[str, Any], count: int, name: str = "many") -> list[str]:
        workflow_id = await self.harness.create(doc, name)
        return [await self.harness.start(workflow_id) for _ in range(count)]

    async def claim(self, limit: int) -> list[Lease]:
        return await self.harness.queue.claim("w1", limit, LEASE)

    def advance_all(self, leases: Sequence[Lease]) -> list[Awaitable[Advanced]]:
        runner = self.harness.engine.runner()
        return [runner.advance(lease) for lease in leases]

    def statuses(self, execution_ids: Sequence[str]) -> dict[str, str]:
        return {execution_id: self.harness.status(execution_id) for execution_id in execution_ids}


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    harness = build_harness()
    log = TransactionLog()
    noop = BreakableNoop()
    registry = builtin_executors().with_executors(
        {NodeKind.NOOP: noop, SCRIPTED_KIND: harness.executor}
    )
    harness.engine.executors.override(providers.Object(registry))
    factory = RecordingUnitOfWorkFactory(harness.adapters.uow_factory(), log)
    harness.engine.uow_factory.override(providers.Object(factory))
    yield Rig(harness, log, noop)
    for execution_id in harness.store.executions:
        assert_gapless_events(harness.store, execution_id)


ONE_NOOP = document([node("only")])


async def test_concurrent_runs_complete_in_far_fewer_transactions_than_runs(rig: Rig) -> None:
    execution_ids = await rig.start_many(ONE_NOOP, 30)
    leases = await rig.claim(30)
    rig.log.forget()

    advanced = await asyncio.wait_for(asyncio.gather(*rig.advance_all(leases)), WAIT)

    assert {a.execution_id: a.ending for a in advanced} == dict.fromkeys(
        execution_ids, Ending.FINISHED
    )
    assert set(rig.statuses(execution_ids).values()) == {"completed"}
    assert rig.log.commits * 10 <= len(execution_ids)
    assert max(len(locked) for locked in rig.log.locked) > 1
    for execution_id in execution_ids:
        assert rig.harness.types(execution_id)[-1] == EventType.EXECUTION_COMPLETED


async def test_a_transaction_takes_at_most_a_full_batch_and_the_rest_follow(rig: Rig) -> None:
    count = MAX_BATCH + 6
    execution_ids = await rig.start_many(ONE_NOOP, count)
    leases = await rig.claim(count)
    rig.log.forget()

    advanced = await asyncio.wait_for(asyncio.gather(*rig.advance_all(leases)), WAIT)

    assert [a.ending for a in advanced] == [Ending.FINISHED] * count
    assert set(rig.statuses(execution_ids).values()) == {"completed"}
    assert max(len(locked) for locked in rig.log.locked) == MAX_BATCH
    assert 2 <= rig.log.commits < count // 10


async def test_a_member_whose_lease_expired_is_told_while_the_rest_of_its_batch_completes(
    rig: Rig,
) -> None:
    gate = SharedGate()
    rig.harness.executor.on("slow", 1, gate)
    doc = document([scripted("slow")])
    [victim] = await rig.start_many(doc, 1, "victim")
    [victim_lease] = await rig.claim(1)  # its lease ends 20 s before the others'
    rig.harness.clock.advance(20)
    others = await rig.start_many(doc, 4, "others")
    other_leases = await rig.claim(4)
    runs = asyncio.gather(*rig.advance_all([victim_lease, *other_leases]))
    try:
        await eventually(lambda: gate.waiting == 5)  # every body runs: every run is open
        rig.harness.clock.advance(10)  # the victim's lease expires exactly now
        rig.log.forget()
        gate.opened.set()  # every body answers at once, so their steps arrive together
        advanced = await asyncio.wait_for(runs, WAIT)
    finally:
        runs.cancel()

    endings = {a.execution_id: a.ending for a in advanced}
    assert endings == {victim: Ending.LEASE_LOST} | dict.fromkeys(others, Ending.FINISHED)
    assert any(victim in locked and len(locked) > 1 for locked in rig.log.locked)
    assert rig.log.commits == 1  # the lost lease did not make the batch start over
    assert set(rig.statuses(others).values()) == {"completed"}
    assert rig.harness.status(victim) == "running"  # the zombie wrote nothing
    assert rig.harness.node(victim, "slow").status.value == "running"


async def test_a_member_whose_lease_was_taken_over_is_told_and_writes_nothing(
    rig: Rig,
) -> None:
    gate = SharedGate()
    rig.harness.executor.on("slow", 1, gate)
    execution_ids = await rig.start_many(document([scripted("slow")]), 3)
    leases = await rig.claim(3)
    runs = asyncio.gather(*rig.advance_all(leases))
    try:
        await eventually(lambda: gate.waiting == 3)
        victim = leases[1]
        await rig.harness.queue.release(victim)  # as if the worker lost it and ...
        [taker] = await rig.harness.queue.claim("w2", 3, LEASE)  # ... another took it over
        events_before = rig.harness.events(victim.execution_id)
        rig.log.forget()
        gate.opened.set()
        advanced = await asyncio.wait_for(runs, WAIT)
    finally:
        runs.cancel()

    assert taker.execution_id == victim.execution_id
    endings = {a.execution_id: a.ending for a in advanced}
    others = [e for e in execution_ids if e != victim.execution_id]
    assert endings == {victim.execution_id: Ending.LEASE_LOST} | dict.fromkeys(
        others, Ending.FINISHED
    )
    assert any(victim.execution_id in locked and len(locked) > 1 for locked in rig.log.locked)
    assert rig.log.commits == 1
    assert rig.harness.events(victim.execution_id) == events_before
    assert set(rig.statuses(others).values()) == {"completed"}


async def test_a_step_that_raises_fails_alone_and_its_batch_mates_complete(rig: Rig) -> None:
    execution_ids = await rig.start_many(ONE_NOOP, 10)
    broken = execution_ids[3]
    rig.noop.broken.add(broken)
    leases = await rig.claim(10)
    rig.log.forget()

    results = await asyncio.wait_for(
        asyncio.gather(*rig.advance_all(leases), return_exceptions=True), WAIT
    )

    by_id = {lease.execution_id: result for lease, result in zip(leases, results, strict=True)}
    failure = by_id.pop(broken)
    assert isinstance(failure, RuntimeError)
    assert str(failure) == f"the step of {broken} broke"
    assert all(isinstance(r, Advanced) and r.ending is Ending.FINISHED for r in by_id.values())
    assert sorted(rig.log.locked[0]) == sorted(execution_ids)  # they were tried together
    assert rig.statuses(execution_ids) == {
        execution_id: "pending" if execution_id == broken else "completed"
        for execution_id in execution_ids
    }
    assert rig.harness.types(broken) == [EventType.EXECUTION_CREATED]  # nothing landed


async def test_a_crash_at_commit_reaches_every_waiting_member(rig: Rig) -> None:
    execution_ids = await rig.start_many(ONE_NOOP, 10)
    leases = await rig.claim(10)
    rig.log.crash_next_commit = Crash("the process is going away")

    results = await asyncio.wait_for(
        asyncio.gather(*rig.advance_all(leases), return_exceptions=True), WAIT
    )

    assert all(isinstance(result, Crash) for result in results), results
    assert set(rig.statuses(execution_ids).values()) == {"pending"}  # nothing landed


async def test_a_crash_also_reaches_the_members_queued_behind_the_batch(rig: Rig) -> None:
    execution_ids = await rig.start_many(ONE_NOOP, 6)
    first_leases = await rig.claim(3)
    later_leases = await rig.claim(3)
    rig.log.hold_commits = asyncio.Event()
    rig.log.crash_next_commit = Crash("the process is going away")
    queued: list[str] = []

    async def advance_after_noting(lease: Lease, advancing: Awaitable[Advanced]) -> Advanced:
        queued.append(lease.execution_id)  # the runner queues its step before it yields
        return await advancing

    first = asyncio.gather(*rig.advance_all(first_leases), return_exceptions=True)
    later: asyncio.Future[list[Any]] | None = None
    try:
        await asyncio.wait_for(rig.log.committing.wait(), WAIT)  # the first batch commits
        later = asyncio.gather(
            *(
                advance_after_noting(lease, advancing)
                for lease, advancing in zip(
                    later_leases, rig.advance_all(later_leases), strict=True
                )
            ),
            return_exceptions=True,
        )
        await eventually(lambda: len(queued) == 3)  # three more steps wait their turn
        rig.log.hold_commits.set()
        results = await asyncio.wait_for(asyncio.gather(first, later), WAIT)
    finally:
        first.cancel()
        if later is not None:
            later.cancel()

    assert [type(result) for batch in results for result in batch] == [Crash] * 6
    assert rig.log.locked == [[lease.execution_id for lease in first_leases]]  # one batch
    assert set(rig.statuses(execution_ids).values()) == {"pending"}


async def test_the_committer_serves_new_steps_after_a_crash(rig: Rig) -> None:
    execution_ids = await rig.start_many(ONE_NOOP, 4)
    leases = await rig.claim(4)
    rig.log.crash_next_commit = Crash("the process is going away")
    await asyncio.wait_for(asyncio.gather(*rig.advance_all(leases), return_exceptions=True), WAIT)
    rig.harness.queue.expire_leases()

    again = await rig.claim(4)
    advanced = await asyncio.wait_for(asyncio.gather(*rig.advance_all(again)), WAIT)

    assert [a.ending for a in advanced] == [Ending.FINISHED] * 4
    assert set(rig.statuses(execution_ids).values()) == {"completed"}
