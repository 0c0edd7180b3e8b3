"""Step failures: the count behind the poison-pill rule, kept on the execution's row."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from application.ports.unit_of_work import StepFailure
from application.records import Lease
from tests.contract.builders import add_execution, add_workflow
from tests.contract.conftest import Backend

LEASE = timedelta(seconds=30)


async def claimed(backend: Backend) -> Lease:
    flow = await add_workflow(backend.uow, backend.clock.now())
    await add_execution(backend.uow, flow.id, backend.clock.now())
    [lease] = await backend.queue.claim("w1", 1, LEASE)
    return lease


async def record(backend: Backend, lease: Lease, kind: str, message: str) -> StepFailure | None:
    async with backend.uow() as uow:
        failure = await uow.executions.record_step_failure(
            lease, kind, message, backend.clock.now()
        )
        await uow.commit()
    return failure


async def failures_of(backend: Backend, *ids: str) -> dict[str, StepFailure]:
    async with backend.uow() as uow:
        return await uow.executions.step_failures_of(list(ids))


async def test_failures_of_the_same_kind_add_up_and_another_kind_starts_again(
    backend: Backend,
) -> None:
    lease = await claimed(backend)
    assert await failures_of(backend, lease.execution_id) == {}
    assert await record(backend, lease, "StorageError", "one") == StepFailure(
        "StorageError", "one", 1
    )
    assert await record(backend, lease, "StorageError", "two") == StepFailure(
        "StorageError", "two", 2
    )
    assert await failures_of(backend, lease.execution_id, "ex_missing") == {
        lease.execution_id: StepFailure("StorageError", "two", 2)
    }
    assert await record(backend, lease, "KeyError", "three") == StepFailure("KeyError", "three", 1)


async def test_a_failure_counts_after_the_lease_expired_but_not_after_a_takeover(
    backend: Backend,
) -> None:
    lease = await claimed(backend)
    backend.clock.advance(LEASE.total_seconds() + 1)
    assert await record(backend, lease, "E", "late") == StepFailure("E", "late", 1)
    [newer] = await backend.queue.claim("w2", 1, LEASE)
    assert newer.execution_id == lease.execution_id
    assert await record(backend, lease, "E", "stale") is None
    assert await record(backend, replace(newer, worker_id="w1"), "E", "impostor") is None
    assert await failures_of(backend, lease.execution_id) == {
        lease.execution_id: StepFailure("E", "late", 1)
    }


async def test_clearing_forgets_the_failures_and_a_rollback_keeps_them(backend: Backend) -> None:
    lease = await claimed(backend)
    await record(backend, lease, "E", "boom")
    async with backend.uow() as uow:
        await uow.executions.clear_step_failures(lease.execution_id)
        # no commit: rolled back
    assert await failures_of(backend, lease.execution_id) != {}
    async with backend.uow() as uow:
        await uow.executions.clear_step_failures(lease.execution_id)
        await uow.commit()
    assert await failures_of(backend, lease.execution_id) == {}
    assert await record(backend, lease, "E", "again") == StepFailure("E", "again", 1)


async def test_a_failure_without_a_lease_row_is_not_counted(backend: Backend) -> None:
    missing = Lease("ex_missing", "w1", 1, backend.clock.now() + LEASE)
    assert await record(backend, missing, "E", "nobody") is None
    assert await failures_of(backend, "ex_missing") == {}


async def test_a_failed_step_holds_the_execution_back_briefly_then_longer(
    backend: Backend,
) -> None:
    lease = await claimed(backend)
    await record(backend, lease, "E", "first")
    assert await backend.queue.claim("w2", 1, LEASE) == []  # held back for a second
    backend.clock.advance(1.5)
    [again] = await backend.queue.claim("w2", 1, LEASE)  # not the lease's 30 s
    assert again.execution_id == lease.execution_id
    await record(backend, again, "E", "second")  # twice in a row: two seconds now
    backend.clock.advance(1.5)
    assert await backend.queue.claim("w3", 1, LEASE) == []
    backend.clock.advance(1)
    assert [taken.execution_id for taken in await backend.queue.claim("w3", 1, LEASE)] == [
        lease.execution_id
    ]


async def test_the_failures_of_rows_just_locked_are_theirs_and_follow_a_clear(
    backend: Backend,
) -> None:
    lease = await claimed(backend)
    await record(backend, lease, "StorageError", "one")
    async with backend.uow() as uow:
        held = await uow.executions.lock_leased([lease])
        assert list(held) == [lease.execution_id]
        assert await uow.executions.step_failures_of([lease.execution_id, "ex_missing"]) == {
            lease.execution_id: StepFailure("StorageError", "one", 1)
        }
        await uow.executions.clear_step_failures(lease.execution_id)
        assert await uow.executions.step_failures_of([lease.execution_id]) == {}
