"""Event logs in sequence, signals first-in first-out, transactions and notifications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from application.creation import EVENTS_CHANNEL
from application.errors import Conflict
from application.ports.unit_of_work import SignalTake
from application.records import Signal, StoredEvent
from domain.events import DomainEvent
from tests.contract.builders import add_execution, add_workflow, eventually, get_execution
from tests.contract.conftest import Backend


async def test_events_append_in_order_and_page(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    later = backend.clock.advance(2)
    async with backend.uow() as uow:
        await uow.events.append(added.id, 1, [DomainEvent("execution_created")], now)
        await uow.events.append(
            added.id,
            2,
            [
                DomainEvent("node_started", node_id="first", attempt=1, payload={"k": [1]}),
                DomainEvent("node_succeeded", node_id="first", attempt=1),
                DomainEvent("execution_completed"),
            ],
            later,
        )
        await uow.commit()
    async with backend.uow() as uow:
        log = await uow.events.search(added.id)
        tail = await uow.events.search(added.id, after_seq=1, limit=2)
        assert await uow.events.search("ex_missing") == []
    assert [e.seq for e in log] == [1, 2, 3, 4]
    assert log[1] == StoredEvent(added.id, 2, "node_started", "first", 1, {"k": [1]}, later)
    assert log[0] == StoredEvent(added.id, 1, "execution_created", None, None, {}, now)
    assert [e.seq for e in tail] == [2, 3]


async def test_a_repeated_sequence_number_conflicts_and_writes_nothing(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(added.id, 1, [DomainEvent("a"), DomainEvent("b")], now)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.events.append(added.id, 2, [DomainEvent("x"), DomainEvent("y")], now)
        # The transaction is as before the failed append: the log can still be extended.
        await uow.events.append(added.id, 3, [DomainEvent("c")], now)
        await uow.commit()
    async with backend.uow() as uow:
        log = await uow.events.search(added.id)
    assert [(e.seq, e.type) for e in log] == [(1, "a"), (2, "b"), (3, "c")]


async def test_signals_wait_in_order_until_taken(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    first = Signal("sig_b", added.id, "approve", {"by": "ann"}, now)
    other = Signal("sig_c", added.id, "reject", None, now)
    second = Signal("sig_a", added.id, "approve", [1, 2], now)  # same time, later arrival
    third = Signal("sig_0", added.id, "approve", None, now + timedelta(seconds=1))
    async with backend.uow() as uow:
        for signal in (first, other, second, third):
            await uow.signals.add(signal)
        await uow.commit()
    other_execution = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.signals.add(Signal("sig_z", other_execution.id, "approve", None, now))
        wanted = {added.id: {"approve", "unknown"}, other_execution.id: {"approve"}}
        oldest = await uow.signals.unconsumed(wanted, per_name=2)
    assert {
        e: {n: [s.id for s in found] for n, found in by.items()} for e, by in oldest.items()
    } == {
        added.id: {"approve": ["sig_b", "sig_a"]},
        other_execution.id: {"approve": ["sig_z"]},
    }
    assert oldest[added.id]["approve"][0] == first

    taken_at = backend.clock.advance(5)
    async with backend.uow() as uow:
        takes = [SignalTake("sig_b", added.id, "gate"), SignalTake("sig_a", added.id, "gate2")]
        await uow.signals.consume_many(takes, taken_at)
        await uow.commit()
    async with backend.uow() as uow:
        left = await uow.signals.unconsumed({added.id: {"approve"}}, per_name=5)
        stored = await uow.signals.search(added.id)
    assert [s.id for s in left[added.id]["approve"]] == ["sig_0"]
    assert [(s.id, s.consumed_by) for s in stored] == [
        ("sig_b", "gate"),
        ("sig_c", None),
        ("sig_a", "gate2"),
        ("sig_0", None),
    ]
    assert stored[0] == Signal("sig_b", added.id, "approve", {"by": "ann"}, now, "gate", taken_at)


async def test_a_signal_is_taken_once(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    added = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.signals.add(Signal("sig_1", added.id, "go", None, now))
        await uow.signals.consume_many([SignalTake("sig_1", added.id, "a")], now)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.signals.consume_many([SignalTake("sig_1", added.id, "b")], now)
    async with backend.uow() as uow:
        assert [s.consumed_by for s in await uow.signals.search(added.id)] == ["a"]


async def test_executions_are_read_many_at_once(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    one = await add_execution(backend.uow, flow.id, now)
    two = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        found = await uow.executions.get_many([one.id, two.id, "ex_missing"])
        assert await uow.executions.get_many([]) == {}
    assert found == {one.id: one, two.id: two}


async def test_leaving_without_commit_rolls_everything_back(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    kept = await add_execution(backend.uow, flow.id, now)
    async with backend.uow() as uow:
        await uow.events.append(kept.id, 1, [DomainEvent("never")], now)
        await uow.signals.add(Signal("sig_x", kept.id, "go", None, now))
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.workflows.add(*_second_workflow(flow, now))
            raise RuntimeError("the use case failed")
    async with backend.uow() as uow:
        assert await uow.events.search(kept.id) == []
        assert await uow.signals.search(kept.id) == []
        assert await uow.workflows.get_by_name(flow.workspace_id, "second") is None
    assert await get_execution(backend.uow, kept.id) == kept


def _second_workflow(flow: Any, now: Any) -> tuple[Any, Any]:
    from tests.contract.builders import version, workflow

    second = workflow(now, "second")
    return second, version(second.id, 1, now)


async def test_notifications_go_out_only_on_commit(backend: Backend) -> None:
    received: list[tuple[str, Mapping[str, Any]]] = []
    backend.subscribe(lambda channel, payload: received.append((channel, dict(payload))))
    async with backend.uow() as uow:
        uow.notify_after_commit(EVENTS_CHANNEL, {"n": "rolled back"})
    async with backend.uow() as uow:
        uow.notify_after_commit(EVENTS_CHANNEL, {"n": 1})
        uow.notify_after_commit(EVENTS_CHANNEL, {"n": 2, "nested": {"ok": True}})
        assert received == []
        await uow.commit()
    assert await eventually(lambda: len(received) >= 2)
    # Notifications arrive in commit order, so the rolled-back one would have come first.
    assert received == [
        (EVENTS_CHANNEL, {"n": 1}),
        (EVENTS_CHANNEL, {"n": 2, "nested": {"ok": True}}),
    ]
