"""Run inserts: a new run stored with its node runs, events and notifications at once, and
only while the workflow it was built from is current."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from application.creation import WORK_CHANNEL, announcements
from application.ports.run_inserts import NewRun
from application.records import Workflow
from domain.events import DomainEvent, EventType
from domain.status import NodeStatus
from tests.contract.builders import NODES, add_workflow, eventually, execution, version
from tests.contract.conftest import Backend


def new_run(flow: Workflow, backend: Backend, **changes: Any) -> NewRun:
    started = execution(flow.id, backend.clock.now(), workspace_id=flow.workspace_id)
    event = DomainEvent(EventType.EXECUTION_CREATED, payload={"workflow_id": flow.id})
    run = NewRun(
        execution=started,
        node_ids=list(NODES),
        events=[event],
        latest_version=flow.latest_version,
        notifications=announcements(started, EventType.EXECUTION_CREATED),
    )
    return replace(run, **changes)


async def stored(backend: Backend, execution_id: str) -> tuple[Any, Any, Any]:
    async with backend.uow() as uow:
        found = await uow.executions.get(execution_id)
        runs = await uow.node_runs.get_all(execution_id)
        events = await uow.events.search(execution_id)
    return found, runs, events


def work_for(received: list[tuple[str, Mapping[str, Any]]], execution_id: str) -> bool:
    return (WORK_CHANNEL, {"execution_id": execution_id}) in received


async def test_a_run_of_the_current_version_is_stored_whole_and_announced(
    backend: Backend,
) -> None:
    received: list[tuple[str, Mapping[str, Any]]] = []
    backend.subscribe(lambda channel, payload: received.append((channel, dict(payload))))
    flow = await add_workflow(backend.uow, backend.clock.now())
    run = new_run(flow, backend)

    assert await backend.run_inserts.insert_if_current(run) is True

    found, runs, events = await stored(backend, run.execution.id)
    assert found == run.execution
    assert list(runs) == list(NODES)
    assert all(r.status is NodeStatus.PENDING and r.attempt == 0 for r in runs.values())
    assert [(e.seq, e.type, dict(e.payload)) for e in events] == [
        (1, EventType.EXECUTION_CREATED, {"workflow_id": flow.id})
    ]
    assert await eventually(lambda: work_for(received, run.execution.id))


async def test_the_same_run_sent_twice_is_stored_once(backend: Backend) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    run = new_run(flow, backend)

    assert await backend.run_inserts.insert_if_current(run) is True
    assert await backend.run_inserts.insert_if_current(run) is True

    _, runs, events = await stored(backend, run.execution.id)
    assert len(runs) == len(NODES)
    assert len(events) == 1


async def test_a_run_built_from_a_workflow_that_changed_is_not_stored(
    backend: Backend,
) -> None:
    received: list[tuple[str, Mapping[str, Any]]] = []
    backend.subscribe(lambda channel, payload: received.append((channel, dict(payload))))
    now = backend.clock.now()
    newer = await add_workflow(backend.uow, now, "newer")
    archived = await add_workflow(backend.uow, now, "archived")
    async with backend.uow() as uow:
        bumped = replace(newer, latest_version=2)
        await uow.workflows.add_version(bumped, version(newer.id, 2, now))
        await uow.workflows.save(bumped)
        await uow.workflows.save(replace(archived, archived=True))
        await uow.commit()
    elsewhere = replace(execution(newer.id, now), workspace_id="ws_other")
    refused = [
        new_run(newer, backend),  # built when version 1 was the latest
        new_run(archived, backend),
        new_run(replace(newer, latest_version=2), backend, execution=elsewhere),
        new_run(replace(newer, id="wf_missing"), backend),
    ]

    for run in refused:
        assert await backend.run_inserts.insert_if_current(run) is False
        assert await stored(backend, run.execution.id) == (None, {}, [])
    # A run that is stored afterwards is announced; none of the refused ones were before it.
    accepted = new_run(replace(newer, latest_version=2), backend)
    assert await backend.run_inserts.insert_if_current(accepted) is True
    assert await eventually(lambda: work_for(received, accepted.execution.id))
    assert not any(work_for(received, run.execution.id) for run in refused)
