"""Listing an execution's children on each adapter: its sub-workflows and the items of its
`for_each` nodes, by node, then item index (sub-workflows first), then oldest first, and
paged by keyset on that order."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from application.ports.unit_of_work import child_position
from domain.execution import Execution, ParentLink
from domain.status import ExecutionStatus
from tests.contract.builders import WORKSPACE, add_execution, add_workflow
from tests.contract.conftest import Backend


async def family(backend: Backend) -> tuple[Execution, list[Execution]]:
    """A parent with two sub-workflow runs of one node and items of two `for_each` nodes
    (added in random order, those of a node all at once), and executions that are not
    its children; the parent and its children in the order the listing gives them."""
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    parent = await add_execution(backend.uow, flow.id, now)
    other = await add_execution(backend.uow, flow.id, now)
    later = now + timedelta(seconds=5)
    # Node ids in byte order: upper case before `_` before lower case, whatever the
    # database's collation says.
    links = [ParentLink(parent.id, "Zeta", index) for index in range(3)]
    links += [ParentLink(parent.id, "_each", index) for index in range(12)]
    random.Random(7).shuffle(links)
    children = [
        await add_execution(backend.uow, flow.id, later, parent=link, depth=1) for link in links
    ]
    children.append(
        await add_execution(backend.uow, flow.id, later, parent=ParentLink(parent.id, "call"))
    )
    children.append(
        await add_execution(backend.uow, flow.id, now, parent=ParentLink(parent.id, "call"))
    )
    await add_execution(backend.uow, flow.id, later, parent=ParentLink(other.id, "_each", 0))
    await add_execution(backend.uow, flow.id, now)
    return parent, sorted(children, key=child_position)


async def test_children_come_by_node_then_item_index_then_oldest_first(
    backend: Backend,
) -> None:
    parent, expected = await family(backend)
    async with backend.uow() as uow:
        found = await uow.executions.search(WORKSPACE, parent_execution_id=parent.id, limit=100)
    assert [e.id for e in found] == [e.id for e in expected]
    assert [(e.parent.node_id, e.parent.item_index) for e in found[:4]] == [  # type: ignore[union-attr]
        ("Zeta", 0),
        ("Zeta", 1),
        ("Zeta", 2),
        ("_each", 0),
    ]
    calls = [e for e in found if e.parent.node_id == "call"]  # type: ignore[union-attr]
    assert [e.created_at for e in calls] == sorted(e.created_at for e in calls)
    assert len(calls) == 2 and found[-2:] == calls


async def test_children_page_by_keyset_on_their_order(backend: Backend) -> None:
    parent, expected = await family(backend)
    pages: list[list[Execution]] = []
    after = None
    async with backend.uow() as uow:
        while True:
            page = await uow.executions.search(
                WORKSPACE, parent_execution_id=parent.id, limit=4, after_child=after
            )
            if not page:
                break
            pages.append(page)
            after = child_position(page[-1])
    assert [len(page) for page in pages] == [4, 4, 4, 4, 1]
    assert [e.id for page in pages for e in page] == [e.id for e in expected]


async def test_the_other_filters_apply_to_children(backend: Backend) -> None:
    parent, expected = await family(backend)
    first, second = expected[0], expected[1]
    async with backend.uow() as uow:
        for child in (first, second):
            done = replace(child, status=ExecutionStatus.COMPLETED, seq=child.seq + 1)
            await uow.executions.save(done, expected_seq=child.seq, lease=None)
        await uow.commit()
    start = backend.clock.now()
    async with backend.uow() as uow:
        completed = await uow.executions.search(
            WORKSPACE, parent_execution_id=parent.id, statuses=[ExecutionStatus.COMPLETED]
        )
        newer = await uow.executions.search(
            WORKSPACE, parent_execution_id=parent.id, created_after=start, limit=100
        )
        older = await uow.executions.search(
            WORKSPACE, parent_execution_id=parent.id, before=(start + timedelta(seconds=1), "")
        )
        elsewhere = await uow.executions.search("ws_other", parent_execution_id=parent.id)
        none = await uow.executions.search(WORKSPACE, parent_execution_id="ex_missing")
    assert [e.id for e in completed] == [first.id, second.id]
    assert [e.id for e in newer] == [e.id for e in expected if e.created_at > start]
    assert len(newer) == len(expected) - 1
    assert [e.id for e in older] == [e.id for e in expected if e.created_at == start]
    assert elsewhere == [] and none == []
