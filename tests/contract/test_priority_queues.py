"""Priorities and queues on each adapter: claims take higher priorities first and, within
one, the oldest due first; a worker serving some queues never claims another's work; runs
take their priority from the request, else the workflow's settings, and children their
parent's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.ids import new_id
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.start_runs import StartRuns
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.execution import Execution
from domain.status import ExecutionStatus
from entrypoints.containers import Engine
from tests.contract.builders import add_execution, add_workflow, get_execution
from tests.contract.conftest import Backend
from tests.support.for_each import fan_out

WORKSPACE = "ws_priority"
LEASE = timedelta(days=30)
S = ExecutionStatus


def engine_on(backend: Backend) -> tuple[Engine, WorkerLoop]:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
        run_inserts=providers.Object(backend.run_inserts),
    )
    worker = WorkerLoop(WorkerSettings("worker-1"), backend.queue, engine.runner(), backend.clock)
    return engine, worker


def one_node(**settings: Any) -> dict[str, Any]:
    return {"nodes": [{"id": "a", "kind": "noop"}], "edges": [], "settings": settings}


async def test_claims_take_higher_priorities_first_and_the_oldest_within_one(
    backend: Backend,
) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    order: list[tuple[int, int, str]] = []
    for tick, priority in enumerate([5, 1, 9, 5, 0, 9, 7, 5, 1]):
        added = await add_execution(backend.uow, flow.id, backend.clock.now(), priority=priority)
        order.append((-priority, tick, added.id))
        backend.clock.advance(1)
    expected = [execution_id for _, _, execution_id in sorted(order)]
    claimed = [lease.execution_id for lease in await backend.queue.claim("w1", 4, LEASE)]
    claimed += [lease.execution_id for lease in await backend.queue.claim("w1", 3, LEASE)]
    claimed += [lease.execution_id for lease in await backend.queue.claim("w1", 10, LEASE)]
    assert claimed == expected


async def test_a_parked_high_priority_execution_waits_for_its_time(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    later = now + timedelta(seconds=60)
    parked = await add_execution(backend.uow, flow.id, now, status=S.WAITING, wake_at=later)
    parked_too = await add_execution(
        backend.uow, flow.id, now, status=S.PENDING, wake_at=later, priority=9
    )
    low = await add_execution(backend.uow, flow.id, now, priority=0)
    assert [lease.execution_id for lease in await backend.queue.claim("w1", 5, LEASE)] == [low.id]
    assert await backend.queue.next_wake_in(3600) == 60
    backend.clock.advance(60)
    claimed = [lease.execution_id for lease in await backend.queue.claim("w1", 5, LEASE)]
    assert claimed == [parked_too.id, parked.id]


async def test_a_worker_serving_some_queues_claims_only_from_them(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    on: dict[str, set[str]] = {"default": set(), "ai": set(), "private.net": set()}
    for n in range(12):
        queue = list(on)[n % 3]
        added = await add_execution(backend.uow, flow.id, now, queue=queue, priority=n % 10)
        on[queue].add(added.id)
    ai = backend.queue_for(["ai"])
    two = backend.queue_for(["private.net", "nowhere"])
    assert await ai.next_wake_in(30) == 30
    assert {lease.execution_id for lease in await ai.claim("ai", 100, LEASE)} == on["ai"]
    assert {lease.execution_id for lease in await two.claim("two", 100, LEASE)} == on["private.net"]
    assert await ai.claim("ai", 100, LEASE) == []
    # A worker without queues claims from every queue: here what is left, the default's.
    everything = {lease.execution_id for lease in await backend.queue.claim("all", 100, LEASE)}
    assert everything == on["default"]


async def test_a_restricted_worker_wakes_for_its_queues_only(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    later = now + timedelta(seconds=40)
    await add_execution(backend.uow, flow.id, now, status=S.WAITING, wake_at=later, queue="ai")
    sooner = now + timedelta(seconds=20)
    await add_execution(backend.uow, flow.id, now, status=S.WAITING, wake_at=sooner)
    assert await backend.queue_for(["ai"]).next_wake_in(3600) == 40
    assert await backend.queue_for(["default"]).next_wake_in(3600) == 20
    assert await backend.queue.next_wake_in(3600) == 20


async def test_runs_take_their_priority_else_the_workflows_and_its_queue(
    backend: Backend,
) -> None:
    engine, _ = engine_on(backend)
    plain = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "plain", one_node()))
    tuned = await engine.create_workflow()(
        CreateWorkflow(WORKSPACE, "tuned", one_node(priority=8, queue="ai"))
    )
    runs = [
        (await engine.start_run()(StartRun(WORKSPACE, plain.id, {}))).execution,
        (await engine.start_run()(StartRun(WORKSPACE, tuned.id, {}))).execution,
        (await engine.start_run()(StartRun(WORKSPACE, tuned.id, {}, priority=2))).execution,
        (await engine.start_run()(StartRun(WORKSPACE, tuned.id, {}, priority=0))).execution,
    ]
    bulk = await engine.start_runs()(
        StartRuns(
            WORKSPACE,
            tuned.id,
            [StartRun(WORKSPACE, tuned.id, {}), StartRun(WORKSPACE, tuned.id, {}, priority=9)],
        )
    )
    runs += [started.execution for started in bulk]
    stored = [await get_execution(backend.uow, run.id) for run in runs]
    assert [(e.priority, e.queue) for e in stored] == [
        (5, "default"),
        (8, "ai"),
        (2, "ai"),
        (0, "ai"),
        (8, "ai"),
        (9, "ai"),
    ]


async def test_children_inherit_their_parents_priority(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    child = await engine.create_workflow()(
        CreateWorkflow(WORKSPACE, "child", one_node(priority=1, queue="children"))
    )
    calling = {
        "nodes": [{"id": "call", "kind": "sub_workflow", "config": {"workflow_id": child.id}}],
        "edges": [],
    }
    caller = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "caller", calling))
    fanning = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "fan", fan_out(child.id)))
    await engine.start_run()(StartRun(WORKSPACE, caller.id, {}, priority=7))
    await engine.start_run()(StartRun(WORKSPACE, fanning.id, {"count": 2}, priority=3))
    await worker.run_until_idle()
    async with backend.uow() as uow:
        children = await uow.executions.search(WORKSPACE, workflow_id=child.id)
    parents: dict[str, Execution] = {}
    for found in children:
        assert found.parent is not None
        parents[found.id] = await get_execution(backend.uow, found.parent.execution_id)
    assert len(children) == 3
    assert all(found.priority == parents[found.id].priority for found in children)
    assert sorted(found.priority for found in children) == [3, 3, 7]
    assert {found.queue for found in children} == {"children"}
    assert {found.status for found in children} == {S.COMPLETED}


arrivals = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 3), st.booleans()), min_size=1, max_size=25
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arrivals=arrivals, batches=st.lists(st.integers(1, 6), min_size=1, max_size=8))
async def test_each_claim_takes_the_highest_priority_due_executions_oldest_first(
    backend: Backend, arrivals: list[tuple[int, int, bool]], batches: list[int]
) -> None:
    # Each example has a queue of its own, so that earlier examples' leftovers stay apart.
    queue_name = new_id("q")
    queue = backend.queue_for([queue_name])
    flow = await add_workflow(backend.uow, backend.clock.now(), queue_name)
    waiting: dict[str, tuple[int, Any, str]] = {}
    for priority, gap, claim_between in arrivals:
        backend.clock.advance(gap)
        added = await add_execution(
            backend.uow, flow.id, backend.clock.now(), priority=priority, queue=queue_name
        )
        waiting[added.id] = (-priority, added.created_at, added.id)
        if claim_between:
            await _claim_and_check(queue, waiting, batches[len(waiting) % len(batches)])
    for size in batches:
        await _claim_and_check(queue, waiting, size)
    while waiting:
        await _claim_and_check(queue, waiting, 6)


async def _claim_and_check(queue: Any, waiting: dict[str, tuple[int, Any, str]], size: int) -> None:
    expected = [key[2] for key in sorted(waiting.values())][:size]
    claimed = [lease.execution_id for lease in await queue.claim("w", size, LEASE)]
    assert claimed == expected
    for execution_id in claimed:
        del waiting[execution_id]
