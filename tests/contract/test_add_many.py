"""`executions.add_many` on each adapter: several new executions stored as `add` stores
one, with their pending node runs and first events, and each item to one child."""

from __future__ import annotations

import pytest

from application.errors import Conflict, StorageError
from application.ports.unit_of_work import NewExecution
from domain.events import DomainEvent, EventType
from domain.execution import ParentLink
from domain.status import NodeStatus
from tests.contract.builders import NODES, add_execution, add_workflow, execution
from tests.contract.conftest import Backend


async def test_several_executions_are_stored_with_their_runs_and_first_events(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    parent = await add_execution(backend.uow, flow.id, now)
    children = [
        execution(flow.id, now, input={"item": n}, parent=ParentLink(parent.id, "each", n))
        for n in range(3)
    ]
    created = DomainEvent(EventType.EXECUTION_CREATED, payload={"version": 1})

    async with backend.uow() as uow:
        await uow.executions.add_many([NewExecution(c, NODES, (created,)) for c in children])
        await uow.commit()

    async with backend.uow() as uow:
        stored = await uow.executions.get_many([child.id for child in children])
        runs = await uow.node_runs.get_for([child.id for child in children])
        history = await uow.events.search(children[2].id)
    assert [stored[child.id] for child in children] == children
    assert all(list(runs[child.id]) == list(NODES) for child in children)
    assert {run.status for child in children for run in runs[child.id].values()} == {
        NodeStatus.PENDING
    }
    assert [(event.seq, event.type, event.payload) for event in history] == [
        (1, EventType.EXECUTION_CREATED, {"version": 1})
    ]


async def test_an_item_gets_one_child_at_most(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    parent = await add_execution(backend.uow, flow.id, now)
    link = ParentLink(parent.id, "each", 0)
    first, second = (execution(flow.id, now, parent=link) for _ in range(2))
    async with backend.uow() as uow:
        await uow.executions.add_many([NewExecution(first, NODES)])
        await uow.commit()

    with pytest.raises((Conflict, StorageError)):
        async with backend.uow() as uow:
            await uow.executions.add_many([NewExecution(second, NODES)])
            await uow.commit()
