"""Batched repository calls: the group committer's locks, saves, node runs and events for
several executions at once, and executions inserted with their first events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import Conflict, LeaseLost, StaleExecution
from application.ports.unit_of_work import EventBatch, FencedSave
from application.records import Lease, StoredEvent
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus, NodeStatus
from tests.contract.builders import NODES, add_execution, add_workflow, execution, get_execution
from tests.contract.conftest import Backend

LEASE = timedelta(seconds=30)
S = ExecutionStatus


async def claim_one(backend: Backend, worker_id: str = "w1") -> Lease:
    """Claim exactly one execution (the test arranges that only one is claimable)."""
    [lease] = await backend.queue.claim(worker_id, 1, LEASE)
    return lease


async def one_lease_kept_one_lost(
    backend: Backend,
) -> tuple[Execution, Execution, list[FencedSave]]:
    """Two claimed executions, the second taken over by another worker since, and a save
    of each under the lease first taken."""
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    kept = await add_execution(backend.uow, flow.id, now)
    kept_lease = await claim_one(backend)
    lost = await add_execution(backend.uow, flow.id, now)
    lost_lease = await claim_one(backend)
    await backend.queue.release(lost_lease)
    await claim_one(backend, "w2")
    saves = [
        FencedSave(replace(kept, status=S.RUNNING, started_at=now, seq=2), 1, kept_lease),
        FencedSave(replace(lost, status=S.RUNNING, started_at=now, seq=2), 1, lost_lease),
    ]
    return kept, lost, saves


async def event_log(backend: Backend, execution_id: str) -> list[tuple[int, str]]:
    async with backend.uow() as uow:
        return [(event.seq, event.type) for event in await uow.events.search(execution_id)]


# ---- lock_leased --------------------------------------------------------------------------


async def test_lock_leased_returns_only_the_executions_whose_lease_still_holds(
    backend: Backend,
) -> None:
    start = backend.clock.now()
    flow = await add_workflow(backend.uow, start)
    expiring = await add_execution(backend.uow, flow.id, start)
    expired_lease = await claim_one(backend)
    backend.clock.advance(20)
    held = await add_execution(backend.uow, flow.id, start)
    held_lease = await claim_one(backend)
    taken = await add_execution(backend.uow, flow.id, start)
    taken_over = await claim_one(backend)
    await backend.queue.release(taken_over)
    current = await claim_one(backend, "w2")  # the same execution, under a newer token
    backend.clock.advance(10)  # `expiring`'s lease ends exactly now: it no longer holds
    missing = Lease("ex_missing", "w1", 1, start + timedelta(hours=1))

    async with backend.uow() as uow:
        found = await uow.executions.lock_leased([expired_lease, held_lease, taken_over, missing])
        assert await uow.executions.lock_leased([current, held_lease]) == {
            taken.id: taken,
            held.id: held,
        }
        assert await uow.executions.lock_leased([]) == {}

    assert current.execution_id == taken.id
    assert expired_lease.execution_id == expiring.id
    assert found == {held.id: held}


async def test_lock_leased_with_runs_reads_the_runs_of_the_locked_ones_asked_for(
    backend: Backend,
) -> None:
    start = backend.clock.now()
    flow = await add_workflow(backend.uow, start)
    opening = await add_execution(backend.uow, flow.id, start)
    opening_lease = await claim_one(backend)
    stepping = await add_execution(backend.uow, flow.id, start)
    stepping_lease = await claim_one(backend)
    lost = await add_execution(backend.uow, flow.id, start)
    lost_lease = replace(await claim_one(backend), token=0)

    async with backend.uow() as uow:
        held, runs = await uow.executions.lock_leased_with_runs(
            [opening_lease, stepping_lease, lost_lease], [opening.id, lost.id]
        )
        assert await uow.executions.lock_leased_with_runs([], [opening.id]) == ({}, {})

    assert held == {opening.id: opening, stepping.id: stepping}
    assert runs == {opening.id: {node_id: NodeRun(node_id) for node_id in NODES}}


async def test_lock_leased_wants_both_the_token_and_the_owner(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    lease = await claim_one(backend)
    other_owner = replace(lease, worker_id="w9")
    other_token = replace(lease, token=lease.token + 1)
    async with backend.uow() as uow:
        assert await uow.executions.lock_leased([other_owner, other_token]) == {}
        assert await uow.executions.lock_leased([lease]) == {added.id: added}


async def test_lock_leased_reads_the_row_as_it_is_now(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    lease = await claim_one(backend)
    cancelling = replace(added, cancel_requested=True, seq=2)
    async with backend.uow() as uow:  # another writer (a cancel request) moved the row
        await uow.executions.save(cancelling, expected_seq=1, lease=None)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.executions.lock_leased([lease]) == {added.id: cancelling}


async def test_lock_leased_with_runs_reads_every_field_of_a_node_run(backend: Backend) -> None:
    start = backend.clock.now()
    flow = await add_workflow(backend.uow, start)
    opening = await add_execution(backend.uow, flow.id, start)
    lease = await claim_one(backend)
    worked = NodeRun(
        "second",
        NodeStatus.RETRYING,
        attempt=2,
        input={"n": [1, 2.5, None, "ü"]},
        output={"big": 2**70},
        error={"kind": "boom", "message": "line\nbreak"},
        label="left",
        started_at=start + timedelta(microseconds=7),
        finished_at=start + timedelta(seconds=1, microseconds=120),
        wake_at=start + timedelta(minutes=5),
        waiting_for={"timer": "later"},
        skip_reason="none",
    )
    async with backend.uow() as uow:
        await uow.node_runs.save_many(opening.id, [worked])
        await uow.commit()

    async with backend.uow() as uow:
        _, runs = await uow.executions.lock_leased_with_runs([lease], [opening.id])

    assert runs[opening.id]["second"] == worked
    assert list(runs[opening.id]) == list(NODES)


# ---- save_many ----------------------------------------------------------------------------


async def test_save_many_lands_every_save(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    running = await add_execution(backend.uow, flow.id, now)
    running_lease = await claim_one(backend)
    parking = await add_execution(backend.uow, flow.id, now)
    parking_lease = await claim_one(backend)
    cancelled = await add_execution(backend.uow, flow.id, now)  # written without a lease
    wake = now + timedelta(minutes=5)
    saves = [
        FencedSave(replace(running, status=S.RUNNING, started_at=now, seq=2), 1, running_lease),
        FencedSave(replace(parking, status=S.WAITING, wake_at=wake, seq=3), 1, parking_lease),
        FencedSave(replace(cancelled, cancel_requested=True, seq=2), 1, None),
    ]
    async with backend.uow() as uow:
        await uow.executions.save_many(saves)
        await uow.commit()
    for save in saves:
        assert await get_execution(backend.uow, save.execution.id) == save.execution
    # The parked execution's lease ended with its run; the running one still holds.
    async with backend.uow() as uow:
        still_held = await uow.executions.lock_leased([running_lease, parking_lease])
    assert list(still_held) == [running.id]
    assert await backend.queue.heartbeat([parking_lease], LEASE) == []


async def test_save_many_of_nothing_writes_nothing(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.executions.save_many([])
        await uow.commit()
    assert await get_execution(backend.uow, added.id) == added


@pytest.mark.parametrize("rejected_first", [False, True])
async def test_save_many_raises_stale_execution_for_a_moved_row(
    backend: Backend, rejected_first: bool
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    good = await add_execution(backend.uow, flow.id, now)
    moved = await add_execution(backend.uow, flow.id, now, seq=4)
    saves = [
        FencedSave(replace(good, output="kept?", seq=2), 1, None),
        FencedSave(replace(moved, output="late", seq=2), 1, None),  # it is at 4, not 1
    ]
    async with backend.uow() as uow:
        with pytest.raises(StaleExecution):
            await uow.executions.save_many(saves[::-1] if rejected_first else saves)
        # The caller leaves without committing: nothing of the batch lands.
    assert await get_execution(backend.uow, good.id) == good
    assert await get_execution(backend.uow, moved.id) == moved


async def test_save_many_raises_stale_execution_for_a_missing_row(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    ghost = execution(flow.id, now)  # never added
    async with backend.uow() as uow:
        with pytest.raises(StaleExecution):
            await uow.executions.save_many([FencedSave(replace(ghost, seq=2), 1, None)])


@pytest.mark.parametrize("rejected_first", [False, True])
async def test_save_many_raises_lease_lost_for_a_taken_over_execution(
    backend: Backend, rejected_first: bool
) -> None:
    kept, lost, saves = await one_lease_kept_one_lost(backend)
    async with backend.uow() as uow:
        with pytest.raises(LeaseLost):
            await uow.executions.save_many(saves[::-1] if rejected_first else saves)
    assert await get_execution(backend.uow, kept.id) == kept
    assert await get_execution(backend.uow, lost.id) == lost


async def test_save_many_raises_lease_lost_for_an_expired_lease(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    lease = await claim_one(backend)
    backend.clock.advance(LEASE.total_seconds())
    async with backend.uow() as uow:
        with pytest.raises(LeaseLost):
            await uow.executions.save_many([FencedSave(replace(added, seq=2), 1, lease)])
    assert await get_execution(backend.uow, added.id) == added


# ---- save_with_history --------------------------------------------------------------------


async def test_save_with_history_writes_rows_runs_and_events_together(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    leased = await add_execution(backend.uow, flow.id, now)
    lease = await claim_one(backend)
    unleased = await add_execution(backend.uow, flow.id, now)
    started = NodeRun("first", NodeStatus.RUNNING, attempt=1, started_at=now)
    saves = [
        FencedSave(replace(leased, status=S.RUNNING, started_at=now, seq=3), 1, lease),
        FencedSave(replace(unleased, cancel_requested=True, seq=2), 1, None),
    ]
    events = [
        EventBatch(leased.id, 1, [DomainEvent("started"), DomainEvent("node", "first", 1)]),
        EventBatch(unleased.id, 1, [DomainEvent("cancel")]),
    ]
    async with backend.uow() as uow:
        await uow.executions.save_with_history(saves, {leased.id: [started]}, events, now)
        await uow.commit()
    for save in saves:
        assert await get_execution(backend.uow, save.execution.id) == save.execution
    async with backend.uow() as uow:
        runs = await uow.node_runs.get_for([leased.id, unleased.id])
    assert runs[leased.id]["first"] == started
    assert runs[unleased.id] == {node_id: NodeRun(node_id) for node_id in NODES}
    assert await event_log(backend, leased.id) == [(1, "started"), (2, "node")]
    assert await event_log(backend, unleased.id) == [(1, "cancel")]


async def test_save_with_history_keeps_values_of_any_json_size(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    huge = {"big": 2**70, "small": -(2**63), "text": "ü\u2028", "nested": [[{"x": 1.5}]]}
    finished = NodeRun("first", NodeStatus.SUCCEEDED, attempt=1, output=huge, finished_at=now)
    save = FencedSave(replace(added, output=huge, seq=2), 1, None)
    async with backend.uow() as uow:
        await uow.executions.save_with_history(
            [save], {added.id: [finished]}, [EventBatch(added.id, 1, [DomainEvent("x")])], now
        )
        await uow.commit()
    assert await get_execution(backend.uow, added.id) == save.execution
    async with backend.uow() as uow:
        assert (await uow.node_runs.get_all(added.id))["first"] == finished


async def test_save_with_history_raises_when_a_lease_is_lost_and_nothing_lands(
    backend: Backend,
) -> None:
    kept, lost, saves = await one_lease_kept_one_lost(backend)
    runs = {kept.id: [NodeRun("first", NodeStatus.RUNNING, attempt=1)]}
    events = [EventBatch(kept.id, 1, [DomainEvent("x")]), EventBatch(lost.id, 1, [])]
    async with backend.uow() as uow:
        with pytest.raises(LeaseLost):
            await uow.executions.save_with_history(saves, runs, events, backend.clock.now())
    assert await get_execution(backend.uow, kept.id) == kept
    assert await event_log(backend, kept.id) == []
    async with backend.uow() as uow:
        assert (await uow.node_runs.get_all(kept.id))["first"] == NodeRun("first")


async def test_save_with_history_conflicts_on_a_taken_event_number(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(added.id, 1, [DomainEvent("taken")], now)
        await uow.commit()
    save = FencedSave(replace(added, seq=2), 1, None)
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.executions.save_with_history(
                [save], {}, [EventBatch(added.id, 1, [DomainEvent("late")])], now
            )
    assert await get_execution(backend.uow, added.id) == added


# ---- node runs of several executions ------------------------------------------------------


async def test_get_for_returns_the_runs_of_each_execution(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    three = await add_execution(backend.uow, flow.id, now)
    one = execution(flow.id, now)
    bare = execution(flow.id, now)
    async with backend.uow() as uow:
        await uow.executions.add(one, ["only"])
        await uow.executions.add(bare, [])
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.node_runs.get_for([three.id, one.id, bare.id, "ex_missing"])
        assert await uow.node_runs.get_for([]) == {}
    assert found == {
        three.id: {node_id: NodeRun(node_id) for node_id in NODES},
        one.id: {"only": NodeRun("only")},
        bare.id: {},
        "ex_missing": {},
    }
    assert list(found[three.id]) == list(NODES)  # in definition order


async def test_save_for_upserts_the_runs_of_several_executions(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    first = await add_execution(backend.uow, flow.id, now)
    second = await add_execution(backend.uow, flow.id, now)
    untouched = await add_execution(backend.uow, flow.id, now)
    started = NodeRun("second", NodeStatus.RUNNING, attempt=1, input={"x": 1}, started_at=now)
    waiting = NodeRun("first", NodeStatus.WAITING, waiting_for={"signal": "go"})
    late = NodeRun("late", NodeStatus.READY)  # a node the execution did not start with
    async with backend.uow() as uow:
        await uow.node_runs.save_for({first.id: [started], second.id: [late, waiting]})
        await uow.node_runs.save_for({})
        await uow.commit()
    async with backend.uow() as uow:
        after = await uow.node_runs.get_for([first.id, second.id, untouched.id])
    assert after[first.id] == {
        "first": NodeRun("first"),
        "second": started,
        "third": NodeRun("third"),
    }
    assert after[second.id] == {
        "first": waiting,
        "second": NodeRun("second"),
        "third": NodeRun("third"),
        "late": late,
    }
    assert list(after[second.id]) == [*NODES, "late"]
    assert after[untouched.id] == {node_id: NodeRun(node_id) for node_id in NODES}


# ---- events of several executions ---------------------------------------------------------


async def test_append_many_numbers_events_per_execution(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    first = await add_execution(backend.uow, flow.id, now)
    second = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(first.id, 1, [DomainEvent("created")], now)
        await uow.commit()
    later = backend.clock.advance(3)
    batches = [
        EventBatch(first.id, 2, [DomainEvent("a"), DomainEvent("b", "first", 1, {"k": [1]})]),
        EventBatch(second.id, 1, [DomainEvent("x")]),
        EventBatch(first.id, 4, [DomainEvent("c")]),  # the same execution again, numbered on
        EventBatch(second.id, 2, []),  # an execution with nothing to say
    ]
    async with backend.uow() as uow:
        await uow.events.append_many(batches, later)
        await uow.events.append_many([], later)
        await uow.commit()
    async with backend.uow() as uow:
        first_log = await uow.events.search(first.id)
        second_log = await uow.events.search(second.id)
    assert [(e.seq, e.type) for e in first_log] == [(1, "created"), (2, "a"), (3, "b"), (4, "c")]
    assert first_log[2] == StoredEvent(first.id, 3, "b", "first", 1, {"k": [1]}, later)
    assert second_log == [StoredEvent(second.id, 1, "x", None, None, {}, later)]


async def test_append_many_conflicts_on_a_taken_number_and_writes_nothing_of_the_call(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    taken = await add_execution(backend.uow, flow.id, now)
    innocent = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(taken.id, 1, [DomainEvent("a"), DomainEvent("b")], now)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.events.append_many(
                [
                    EventBatch(innocent.id, 1, [DomainEvent("lost")]),
                    EventBatch(taken.id, 2, [DomainEvent("x"), DomainEvent("y")]),
                ],
                now,
            )
        # The transaction is as before the failed call: it goes on and commits.
        await uow.events.append_many([EventBatch(taken.id, 3, [DomainEvent("c")])], now)
        await uow.commit()
    assert await event_log(backend, taken.id) == [(1, "a"), (2, "b"), (3, "c")]
    assert await event_log(backend, innocent.id) == []


async def test_append_many_conflicts_on_a_number_repeated_within_the_call(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.events.append_many(
                [
                    EventBatch(added.id, 1, [DomainEvent("a"), DomainEvent("b")]),
                    EventBatch(added.id, 2, [DomainEvent("again")]),
                ],
                now,
            )
        await uow.events.append_many([EventBatch(added.id, 1, [DomainEvent("c")])], now)
        await uow.commit()
    assert await event_log(backend, added.id) == [(1, "c")]


# ---- executions inserted with their first events ------------------------------------------


async def test_add_stores_first_events_numbered_from_one_at_creation_time(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    created_at = now - timedelta(minutes=5)  # not the clock's time: the execution's own
    added = execution(flow.id, created_at)
    bare = execution(flow.id, created_at)
    first_events = [
        DomainEvent("execution_created", payload={"workflow_id": flow.id, "nested": [1, None]}),
        DomainEvent("node_ready", node_id="first"),
        DomainEvent("node_started", node_id="first", attempt=2, payload={"ü": "ok"}),
    ]
    async with backend.uow() as uow:
        await uow.executions.add(added, NODES, first_events)
        await uow.executions.add(bare, NODES, [])
        await uow.commit()
    async with backend.uow() as uow:
        log = await uow.events.search(added.id)
        runs = await uow.node_runs.get_all(added.id)
        assert await uow.events.search(bare.id) == []
    assert log == [
        StoredEvent(added.id, seq, e.type, e.node_id, e.attempt, e.payload, created_at)
        for seq, e in enumerate(first_events, start=1)
    ]
    assert runs == {node_id: NodeRun(node_id) for node_id in NODES}
    assert await get_execution(backend.uow, added.id) == added


async def test_first_events_are_numbered_like_appended_ones(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = execution(flow.id, now)
    async with backend.uow() as uow:
        await uow.executions.add(added, NODES, [DomainEvent("created")])
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.events.append(added.id, 1, [DomainEvent("again")], now)
        await uow.events.append(added.id, 2, [DomainEvent("next")], now)
        await uow.commit()
    assert await event_log(backend, added.id) == [(1, "created"), (2, "next")]


# ---- batches over the driver's parameter limit -------------------------------------------

# More rows than one statement may carry: the protocol allows 65,535 parameters, and a node
# run or an event takes several each.
MANY = 10_000


async def test_save_for_lands_more_runs_than_one_statement_may_carry(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    runs = [NodeRun(f"n{index}", NodeStatus.SKIPPED, skip_reason="x") for index in range(MANY)]
    async with backend.uow() as uow:
        await uow.node_runs.save_for({added.id: runs})
        await uow.commit()
    async with backend.uow() as uow:
        after = await uow.node_runs.get_all(added.id)
    assert len(after) == MANY + len(NODES)
    assert list(after)[-1] == f"n{MANY - 1}"
    assert after[f"n{MANY - 1}"] == runs[-1]


async def test_append_many_lands_more_events_than_one_statement_may_carry(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    many = [DomainEvent("node_skipped", f"n{index}") for index in range(MANY)]
    async with backend.uow() as uow:
        await uow.events.append_many([EventBatch(added.id, 1, many)], now)
        await uow.commit()
    async with backend.uow() as uow:
        tail = await uow.events.search(added.id, after_seq=MANY - 2)
    assert [(event.seq, event.node_id) for event in tail] == [
        (MANY - 1, f"n{MANY - 2}"),
        (MANY, f"n{MANY - 1}"),
    ]


async def test_a_conflict_in_the_last_batch_takes_back_the_batches_before_it(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    innocent = await add_execution(backend.uow, flow.id, now)
    taken = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(taken.id, 1, [DomainEvent("taken")], now)
        await uow.commit()
    many = [DomainEvent("lost") for _ in range(MANY)]
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.events.append_many(
                [EventBatch(innocent.id, 1, many), EventBatch(taken.id, 1, [DomainEvent("x")])],
                now,
            )
        await uow.commit()
    assert await event_log(backend, innocent.id) == []
    assert await event_log(backend, taken.id) == [(1, "taken")]
