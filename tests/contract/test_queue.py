"""The work queue: what is claimable, exclusive claims, leases, fencing and wake-ups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from adapters.memory.queue import InMemoryWorkQueue
from adapters.postgres.setup import PostgresAdapters
from application.creation import WORK_CHANNEL
from application.errors import LeaseLost, StaleExecution
from application.ports.queue import WorkQueue
from application.records import Lease
from domain.status import ExecutionStatus
from tests.contract.builders import add_execution, add_workflow, get_execution
from tests.contract.conftest import Backend
from tests.support.databases import session_url_for

LEASE = timedelta(seconds=30)
S = ExecutionStatus


async def test_only_due_unleased_active_executions_are_claimable(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    soon, past = now + timedelta(seconds=10), now - timedelta(seconds=10)

    async def add(status: ExecutionStatus, **changes: object) -> str:
        return (await add_execution(backend.uow, flow.id, now, status=status, **changes)).id

    claimable = {
        await add(S.PENDING),
        await add(S.PENDING, wake_at=past),
        await add(S.WAITING, wake_at=past),
        await add(S.RUNNING),  # its worker's lease is gone
    }
    later = {await add(S.PENDING, wake_at=soon), await add(S.WAITING, wake_at=soon)}
    never = {await add(S.WAITING)} | {await add(s) for s in (S.COMPLETED, S.FAILED)}
    never |= {await add(S.CANCELLED), await add(S.TIMED_OUT, wake_at=past)}

    first = await backend.queue.claim("w1", 100, LEASE)
    assert {lease.execution_id for lease in first} == claimable
    assert await backend.queue.claim("w2", 100, LEASE) == []  # all leased now
    backend.clock.advance(10)
    second = await backend.queue.claim("w2", 100, LEASE)
    assert {lease.execution_id for lease in second} == later
    assert not never & {lease.execution_id for lease in first + second}


async def test_a_claim_leases_under_a_fresh_token(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    [lease] = await backend.queue.claim("w1", 5, LEASE)
    assert (lease.execution_id, lease.worker_id, lease.expires_at) == (added.id, "w1", now + LEASE)
    backend.clock.advance(LEASE.total_seconds())  # expires exactly now: claimable again
    [again] = await backend.queue.claim("w2", 5, LEASE)
    assert again.execution_id == added.id and again.worker_id == "w2"
    assert again.token > lease.token


async def test_concurrent_claims_never_share_an_execution(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = {(await add_execution(backend.uow, flow.id, now)).id for _ in range(30)}
    results = await asyncio.gather(*(backend.queue.claim(f"w{n}", 12, LEASE) for n in range(4)))
    claimed = [lease.execution_id for leases in results for lease in leases]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == added


async def test_a_worker_that_lost_its_lease_writes_nothing(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    [zombie] = await backend.queue.claim("w1", 1, LEASE)
    backend.clock.advance(31)
    [current] = await backend.queue.claim("w2", 1, LEASE)
    running = replace(added, status=S.RUNNING, started_at=now, seq=2)
    async with backend.uow() as uow:
        with pytest.raises(LeaseLost):
            await uow.executions.save(running, expected_seq=1, lease=zombie)
        await uow.commit()
    assert await get_execution(backend.uow, added.id) == added
    async with backend.uow() as uow:
        with pytest.raises(StaleExecution):
            await uow.executions.save(running, expected_seq=5, lease=current)
        await uow.executions.save(running, expected_seq=1, lease=current)
        await uow.commit()
    assert await get_execution(backend.uow, added.id) == running


async def test_an_expired_lease_rejects_writes_even_without_a_taker(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    [lease] = await backend.queue.claim("w1", 1, LEASE)
    backend.clock.advance(LEASE.total_seconds())
    async with backend.uow() as uow:
        with pytest.raises(LeaseLost):
            await uow.executions.save(replace(added, seq=2), expected_seq=1, lease=lease)


async def test_leaving_running_ends_the_lease_but_keeps_the_token(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    [lease] = await backend.queue.claim("w1", 1, LEASE)
    wake = now + timedelta(minutes=1)
    parked = replace(added, status=S.WAITING, wake_at=wake, seq=2)
    async with backend.uow() as uow:
        await uow.executions.save(parked, expected_seq=1, lease=lease)
        await uow.commit()
    assert await backend.queue.heartbeat([lease], LEASE) == []
    assert await backend.queue.next_wake_in(3600) == pytest.approx(60)
    backend.clock.advance(60)
    [next_lease] = await backend.queue.claim("w2", 1, LEASE)
    assert next_lease.token > lease.token


async def test_heartbeats_extend_held_leases_and_report_cancels(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    first = await add_execution(backend.uow, flow.id, now)
    await add_execution(backend.uow, flow.id, now)
    leases = await backend.queue.claim("w1", 2, LEASE)
    async with backend.uow() as uow:  # a cancel request from the API (no lease)
        await uow.executions.save(
            replace(first, cancel_requested=True, seq=2), expected_seq=1, lease=None
        )
        await uow.commit()
    beat_at = backend.clock.advance(20)
    kept = await backend.queue.heartbeat(leases, LEASE)
    assert [k.execution_id for k in kept] == [lease.execution_id for lease in leases]
    assert all(k.expires_at == beat_at + LEASE for k in kept)
    assert {k.execution_id: k.cancel_requested for k in kept}[first.id] is True
    assert [k.token for k in kept] == [lease.token for lease in leases]
    backend.clock.advance(LEASE.total_seconds() + 1)
    assert await backend.queue.heartbeat(kept, LEASE) == []
    assert await backend.queue.heartbeat([], LEASE) == []


async def test_a_released_lease_frees_the_execution_at_once(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    await add_execution(backend.uow, flow.id, now, status=S.RUNNING)
    [lease] = await backend.queue.claim("w1", 1, LEASE)
    await backend.queue.release(replace(lease, token=lease.token - 1))  # not ours: ignored
    assert await backend.queue.claim("w2", 1, LEASE) == []
    await backend.queue.release(lease)
    [taken] = await backend.queue.claim("w2", 1, LEASE)
    assert taken.token == lease.token + 1


async def test_waiting_for_work_wakes_on_a_committed_notification(backend: Backend) -> None:
    await backend.queue.wait_for_work(0.01)  # forget earlier wake-ups
    assert await backend.queue.wait_for_work(0.05) is False
    async with backend.uow() as uow:
        uow.notify_after_commit(WORK_CHANNEL, {"execution_id": "ex_rolled_back"})
    assert await backend.queue.wait_for_work(0.05) is False
    async with backend.uow() as uow:
        uow.notify_after_commit(WORK_CHANNEL, {"execution_id": "ex_new"})
        await uow.commit()
    assert await backend.queue.wait_for_work(5.0) is True


async def test_next_wake_is_the_earliest_future_wake_or_lease_expiry(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    assert await backend.queue.next_wake_in(7.5) == 7.5
    await add_execution(
        backend.uow, flow.id, now, status=S.WAITING, wake_at=now + timedelta(minutes=90)
    )
    await add_execution(
        backend.uow, flow.id, now, status=S.COMPLETED, wake_at=now + timedelta(seconds=5)
    )
    await add_execution(
        backend.uow, flow.id, now, status=S.WAITING, wake_at=now + timedelta(seconds=40)
    )
    assert await backend.queue.next_wake_in(3600) == pytest.approx(40)
    assert await backend.queue.next_wake_in(1.0) == 1.0
    await add_execution(backend.uow, flow.id, now, status=S.RUNNING)
    await backend.queue.claim("w1", 1, timedelta(seconds=12))
    assert await backend.queue.next_wake_in(3600) == pytest.approx(12)


# ---- Workers that end: their executions are taken without waiting for the lease -------


@dataclass
class WorkerProcess:
    """A worker process as the queue sees it: its own queue, and its end."""

    queue: WorkQueue
    exit: Callable[[], Awaitable[None]]


StartWorker = Callable[[], Awaitable[WorkerProcess]]


@pytest.fixture
async def start_worker(
    backend: Backend, request: pytest.FixtureRequest
) -> AsyncIterator[StartWorker]:
    """Starts worker processes' queues on the backend's store; ends those still running."""
    running: list[WorkerProcess] = []

    async def start() -> WorkerProcess:
        if backend.name == "memory":
            assert isinstance(backend.queue, InMemoryWorkQueue)
            queue = InMemoryWorkQueue(backend.queue.store)
            worker = WorkerProcess(queue, queue.close)
        else:
            url: str = request.getfixturevalue("contract_database_url")
            session_url = session_url_for(url)  # the membership lock needs a session
            adapters = PostgresAdapters(
                url, backend.clock, pool_size=2, runs_worker=True, session_url=session_url
            )
            await adapters.start()
            worker = WorkerProcess(adapters.queue, adapters.close)
        running.append(worker)
        return worker

    yield start
    for worker in running:
        await worker.exit()


async def claimed_within(queue: WorkQueue, seconds: float) -> list[Lease]:
    """Wait for work and claim, until a claim leases something or `seconds` pass."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (remaining := end - loop.time()) > 0:
        await queue.wait_for_work(remaining)
        if leases := await queue.claim("staying", 5, LEASE):
            return leases
    return []


async def test_a_worker_that_ended_leaves_its_executions_to_the_others_at_once(
    backend: Backend, start_worker: StartWorker
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now, status=S.RUNNING)
    departing, staying = await start_worker(), await start_worker()
    [held] = await departing.queue.claim("departing", 1, LEASE)

    await departing.exit()
    [taken] = await claimed_within(staying.queue, 10.0)

    assert taken.execution_id == added.id and taken.token > held.token
    assert backend.clock.now() == now  # no lease lapsed: the clock never moved
    assert await staying.queue.heartbeat([held], LEASE) == []  # the old lease is fenced off


async def test_a_live_worker_keeps_its_executions_until_its_lease_lapses(
    backend: Backend, start_worker: StartWorker
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    await add_execution(backend.uow, flow.id, now, status=S.RUNNING)
    frozen, other = await start_worker(), await start_worker()
    [held] = await frozen.queue.claim("frozen", 1, LEASE)

    assert await claimed_within(other.queue, 1.5) == []  # three membership readings
    assert [lease.token for lease in await frozen.queue.heartbeat([held], LEASE)] == [held.token]
