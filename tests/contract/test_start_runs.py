"""Bulk runs on each adapter: many runs of one workflow started in one transaction, answered
in order, with idempotency keys, all or nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from dependency_injector import providers

from application.creation import EVENTS_CHANNEL, WORK_CHANNEL
from application.document_limits import MAX_RUNS
from application.errors import Conflict, NotFound
from application.input_errors import InvalidInput
from application.ports.run_inserts import KeyedRun
from application.use_cases.archive_workflow import ArchiveWorkflow, ArchiveWorkflowHandler
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun, new_run
from application.use_cases.start_runs import StartRuns
from application.use_cases.update_workflow import UpdateWorkflow
from domain.definition import WorkflowDefinition
from domain.status import ExecutionStatus
from domain.validation import parse_definition
from entrypoints.containers import Engine
from tests.contract.builders import DOCUMENT, add_workflow, eventually, get_execution
from tests.contract.conftest import Backend

WORKSPACE = "ws_bulk"
TWO_NODES: dict[str, Any] = {
    "nodes": [{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop"}],
    "edges": [{"from": "a", "to": "b"}],
}
ONE_NODE: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}


def engine_on(backend: Backend) -> Engine:
    return Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
        run_inserts=providers.Object(backend.run_inserts),
    )


def runs_of(flow_id: str, *inputs: Any, keys: list[str | None] | None = None) -> StartRuns:
    keys = keys if keys is not None else [None] * len(inputs)
    return StartRuns(
        WORKSPACE,
        flow_id,
        [
            StartRun(WORKSPACE, flow_id, value, idempotency_key=key)
            for value, key in zip(inputs, keys, strict=True)
        ],
    )


async def count_executions(backend: Backend, workflow_id: str) -> int:
    async with backend.uow() as uow:
        return len(await uow.executions.search(WORKSPACE, workflow_id=workflow_id, limit=5000))


async def test_runs_are_stored_whole_and_answered_in_order(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", TWO_NODES))

    started = await engine.start_runs()(runs_of(flow.id, *({"n": n} for n in range(7))))

    assert [s.execution.input for s in started] == [{"n": n} for n in range(7)]
    assert all(s.created for s in started)
    assert len({s.execution.id for s in started}) == 7
    for one in started:
        assert await get_execution(backend.uow, one.execution.id) == one.execution
        async with backend.uow() as uow:
            runs = await uow.node_runs.get_all(one.execution.id)
            events = await uow.events.search(one.execution.id)
        assert list(runs) == ["a", "b"]
        assert [e.type for e in events] == ["execution_created"]


async def test_every_run_started_is_announced_to_workers_and_streams(backend: Backend) -> None:
    received: list[tuple[str, dict[str, Any]]] = []
    backend.subscribe(lambda channel, payload: received.append((channel, dict(payload))))
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))

    started = await engine.start_runs()(runs_of(flow.id, 1, 2, 3))

    ids = {s.execution.id for s in started}

    def seen() -> set[tuple[str, str, Any]]:
        return {
            (channel, payload["execution_id"], payload.get("status"))
            for channel, payload in received
            if payload.get("execution_id") in ids
        }

    expected = {(WORK_CHANNEL, i, None) for i in ids}
    expected |= {(EVENTS_CHANNEL, i, "pending") for i in ids}
    assert await eventually(lambda: expected <= seen()), seen()


async def test_each_run_keeps_its_own_start_time_and_version(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    await engine.update_workflow()(UpdateWorkflow(WORKSPACE, flow.id, TWO_NODES))
    later = backend.clock.now() + timedelta(minutes=5)
    command = StartRuns(
        WORKSPACE,
        flow.id,
        [
            StartRun(WORKSPACE, flow.id, 1),
            StartRun(WORKSPACE, flow.id, 2, version=1),
            StartRun(WORKSPACE, flow.id, 3, start_at=later),
        ],
    )

    started = await engine.start_runs()(command)

    assert [s.execution.version for s in started] == [2, 1, 2]
    assert [s.execution.wake_at for s in started] == [None, None, later]
    async with backend.uow() as uow:
        assert list(await uow.node_runs.get_all(started[1].execution.id)) == ["only"]
    claimed = await backend.queue.claim("w1", 10, timedelta(seconds=30))
    assert {lease.execution_id for lease in claimed} == {
        started[0].execution.id,
        started[1].execution.id,
    }


async def test_a_key_already_used_answers_its_execution_in_its_position(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    single = await engine.start_run()(StartRun(WORKSPACE, flow.id, "one", idempotency_key="k1"))
    command = runs_of(flow.id, "zero", "one again", "two", keys=["k0", "k1", None])

    first = await engine.start_runs()(command)
    again = await engine.start_runs()(command)

    assert [s.created for s in first] == [True, False, True]
    assert first[1].execution.id == single.execution.id
    assert first[1].execution.input == "one"
    assert [s.created for s in again] == [False, False, True]
    assert again[0].execution.id == first[0].execution.id
    assert again[2].execution.id != first[2].execution.id  # no key: a new run each time
    assert await count_executions(backend, flow.id) == 4


async def test_a_key_repeated_in_one_request_is_one_execution(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))

    started = await engine.start_runs()(
        runs_of(flow.id, "a", "b", "c", "d", keys=["k", None, "k", "other"])
    )

    assert [s.created for s in started] == [True, True, False, True]
    assert started[0].execution.id == started[2].execution.id
    assert started[2].execution.input == "a"  # the first position's run
    assert await count_executions(backend, flow.id) == 3


async def test_concurrent_requests_sharing_keys_start_each_key_once(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    keys: list[str | None] = [f"k{n}" for n in range(40)]
    forward = runs_of(flow.id, *range(40), keys=keys)
    backward = runs_of(flow.id, *range(40), keys=list(reversed(keys)))

    left, right = await asyncio.gather(engine.start_runs()(forward), engine.start_runs()(backward))

    by_key_left = {k: s for k, s in zip(keys, left, strict=True)}
    by_key_right = {k: s for k, s in zip(reversed(keys), right, strict=True)}
    for key in keys:
        assert by_key_left[key].execution.id == by_key_right[key].execution.id
        assert by_key_left[key].created != by_key_right[key].created
    assert await count_executions(backend, flow.id) == 40


async def test_a_missing_or_archived_workflow_or_version_starts_nothing(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))
    pinned = StartRuns(
        WORKSPACE,
        flow.id,
        [StartRun(WORKSPACE, flow.id, 1), StartRun(WORKSPACE, flow.id, 2, version=2)],
    )

    with pytest.raises(NotFound, match=r"runs\[1\]"):
        await engine.start_runs()(pinned)
    with pytest.raises(NotFound):
        await engine.start_runs()(runs_of("wf_missing", 1))
    await ArchiveWorkflowHandler(backend.uow, backend.clock)(ArchiveWorkflow(WORKSPACE, flow.id))
    with pytest.raises(NotFound):
        await engine.start_runs()(runs_of(flow.id, 1, 2))
    assert await count_executions(backend, flow.id) == 0


async def test_no_runs_or_too_many_are_refused(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))

    with pytest.raises(InvalidInput, match="at least one"):
        await engine.start_runs()(runs_of(flow.id))
    with pytest.raises(InvalidInput, match="at most 1,000"):
        await engine.start_runs()(runs_of(flow.id, *range(MAX_RUNS + 1)))
    assert await count_executions(backend, flow.id) == 0


def batch_of(backend: Backend, flow: Any, definition: WorkflowDefinition, count: int) -> list[Any]:
    now = backend.clock.now()
    return [
        KeyedRun(new_run(StartRun(flow.workspace_id, flow.id, n), flow, 1, definition, now))
        for n in range(count)
    ]


async def test_a_batch_that_fails_at_its_last_run_stores_none_of_it(backend: Backend) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    definition = parse_definition(DOCUMENT)
    [earlier] = batch_of(backend, flow, definition, 1)
    assert await backend.run_inserts.insert_if_current(earlier.run)
    taken = earlier.run.execution
    # Long enough to take several statements on PostgreSQL; the last run reuses an id.
    batch = batch_of(backend, flow, definition, 600)
    clash = replace(batch[-1].run, execution=replace(batch[-1].run.execution, id=taken.id))
    batch[-1] = KeyedRun(clash)

    with pytest.raises(Conflict):
        await backend.run_inserts.insert_all_if_current(batch)

    for keyed in batch[:-1]:
        assert await get_execution(backend.uow, keyed.run.execution.id) is None
    assert await get_execution(backend.uow, taken.id) == taken


async def test_a_batch_built_from_a_workflow_that_changed_is_not_stored(
    backend: Backend,
) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    definition = parse_definition(DOCUMENT)
    stale = batch_of(backend, replace(flow, latest_version=2), definition, 3)

    assert await backend.run_inserts.insert_all_if_current(stale) is None
    assert await backend.run_inserts.insert_all_if_current([]) == []
    for keyed in stale:
        assert await get_execution(backend.uow, keyed.run.execution.id) is None


async def test_a_thousand_runs_of_one_request_are_all_claimable(backend: Backend) -> None:
    engine = engine_on(backend)
    flow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "flow", ONE_NODE))

    started = await engine.start_runs()(runs_of(flow.id, *range(MAX_RUNS)))

    assert [s.execution.input for s in started] == list(range(MAX_RUNS))
    assert all(s.execution.status is ExecutionStatus.PENDING for s in started)
    claimed: set[str] = set()
    for _ in range(MAX_RUNS):
        leases = await backend.queue.claim("w1", 200, timedelta(minutes=5))
        if not leases:
            break
        claimed |= {lease.execution_id for lease in leases}
    assert claimed == {s.execution.id for s in started}
