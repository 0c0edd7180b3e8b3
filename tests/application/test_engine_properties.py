"""The engine's property suite: random workflows, node outcomes, signals, crashes, stalls
and 1-4 interleaved workers, driven through the use cases on the in-memory adapter with
a fake clock. Each example runs in its own event loop. Budgets come from the hypothesis
profile named by HYPOTHESIS_PROFILE (see conftest.py and docs/testing.md)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import Counter
from datetime import datetime
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from application.engine.runner import Ending
from application.errors import Conflict
from application.ports.executors import NodeCall
from application.use_cases.cancel_execution import CancelExecution
from domain.events import EventType
from domain.validation import parse_definition
from tests.application.conftest import (
    WORKSPACE,
    assert_gapless_events,
    engine_settings,
)
from tests.application.engine_sim import Cluster, final_state, simulate
from tests.application.engine_strategies import Scenario, scenarios

TIMER_EVENTS = (EventType.NODE_WAITING, EventType.NODE_RETRY_SCHEDULED)
NODE_ENDINGS = (
    EventType.NODE_SUCCEEDED,
    EventType.NODE_FAILED,
    EventType.NODE_CANCELLED,
    EventType.NODE_READY,
)


def check_history(cluster: Cluster) -> None:
    """Invariants of every execution's history, whatever happened to the workers."""
    definition = parse_definition(cluster.scenario.document)
    for run, execution_id in enumerate(cluster.execution_ids):
        execution = cluster.store.executions[execution_id]
        assert execution.status.is_terminal, execution.status
        log = assert_gapless_events(cluster.store, execution_id)
        succeeded = Counter(e.node_id for e in log if e.type == EventType.NODE_SUCCEEDED)
        assert all(count == 1 for count in succeeded.values()), succeeded
        for event in log:
            if event.type == EventType.NODE_STARTED:
                assert event.node_id is not None and event.attempt is not None
                assert event.attempt <= definition.retry_policy(event.node_id).max_attempts
        for node_id, node_run in cluster.store.node_runs[execution_id].items():
            assert node_run.attempt <= definition.retry_policy(node_id).max_attempts
        check_bodies_rerun_only_after_interruptions(cluster, run, log)
        check_timers_never_fire_early(log)
        if execution.status.value == "timed_out":
            assert execution.deadline_at is not None
            assert execution.finished_at is not None
            assert execution.finished_at >= execution.deadline_at


def check_bodies_rerun_only_after_interruptions(cluster: Cluster, run: int, log: list[Any]) -> None:
    started = {(e.node_id, e.attempt) for e in log if e.type == EventType.NODE_STARTED}
    interrupted = Counter((e.node_id, e.attempt) for e in log if e.type == "node_interrupted")
    for (body_run, node_id, attempt), count in cluster.executor.invocations.items():
        if body_run != run:
            continue
        assert (node_id, attempt) in started  # the attempt was recorded before its body ran
        assert count <= 1 + interrupted[(node_id, attempt)], (node_id, attempt, count)


def check_timers_never_fire_early(log: list[Any]) -> None:
    """A delay ends, a retry becomes ready and a signal wait times out only at or after
    the wake time recorded when the wait began."""
    waits: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for event in log:
        if event.node_id is None:
            continue
        if event.type in TIMER_EVENTS and "wake_at" in event.payload:
            waits[event.node_id] = (datetime.fromisoformat(event.payload["wake_at"]), event.payload)
        elif event.type in NODE_ENDINGS and event.node_id in waits:
            wake_at, payload = waits.pop(event.node_id)
            by_timer = (
                event.type == EventType.NODE_READY
                or (event.type == EventType.NODE_SUCCEEDED and "timer" in payload)
                or (event.type == EventType.NODE_FAILED and "signal" in payload)
            )
            if by_timer:
                assert event.created_at >= wake_at, (event, wake_at)


def check_reference(cluster: Cluster) -> None:
    """Without crashes, every recorded attempt's body ran exactly once."""
    assert cluster.crashes == 0
    assert all(count == 1 for count in cluster.executor.invocations.values())


def reference_of(scenario: Scenario) -> Cluster:
    reference = asyncio.run(simulate(scenario.with_workers(1)))
    check_history(reference)
    check_reference(reference)
    return reference


@engine_settings(0.45)
@given(scenarios())
def test_crashes_and_interleavings_change_no_outcome(scenario: Scenario) -> None:
    reference = reference_of(scenario)
    cluster = asyncio.run(simulate(scenario))

    check_history(cluster)
    assert final_state(cluster) == final_state(reference)


async def simulate_with_stall(scenario: Scenario, stall_at: int) -> tuple[Cluster, bool]:
    """A worker stalls at a transaction start; its lease lapses and another worker takes
    over; then the stalled worker wakes up and must not be able to write anything."""
    cluster = Cluster(scenario.with_workers(1))
    await cluster.start()
    zombie = cluster.new_worker(stall_at=stall_at)
    working = asyncio.create_task(zombie.loop.run_until_idle())
    stalled = asyncio.create_task(zombie.calls.stalled.wait())
    await asyncio.wait([working, stalled], return_when=asyncio.FIRST_COMPLETED)
    stalled.cancel()
    took_over = not working.done()
    if took_over:
        ended_before_stall = len(zombie.endings)
        cluster.queue.expire_leases()
        await cluster.run_phase()
        store = cluster.store
        before = copy.deepcopy((store.executions, store.node_runs, dict(store.events)))
        zombie.calls.resume.set()
        await working
        assert copy.deepcopy((store.executions, store.node_runs, dict(store.events))) == before
        stalled_advance = zombie.endings[ended_before_stall]
        assert stalled_advance.ending in (Ending.LEASE_LOST, Ending.GONE)
    else:
        await working
    await cluster.drive()
    return cluster, took_over


@engine_settings(0.2)
@given(scenarios(max_workers=1, max_crashes=0), st.integers(1, 30))
def test_a_worker_that_lost_its_lease_writes_nothing(scenario: Scenario, stall_at: int) -> None:
    reference = reference_of(scenario)
    cluster, _ = asyncio.run(simulate_with_stall(scenario, stall_at))

    check_history(cluster)
    assert final_state(cluster) == final_state(reference)


async def simulate_with_cancel_between_phases(scenario: Scenario, phase: int) -> Cluster:
    cluster = Cluster(scenario)
    await cluster.start()
    phases = 0

    async def maybe_cancel() -> None:
        nonlocal phases
        phases += 1
        target = cluster.execution_ids[0]
        if phases == phase and not cluster.store.executions[target].status.is_terminal:
            cancel = cluster.engine.cancel_execution()
            done = await cancel(CancelExecution(WORKSPACE, target))
            assert done.status.value == "cancelled"  # nobody runs it between phases

    await cluster.drive(maybe_cancel)
    return cluster


@engine_settings(0.15)
@given(scenarios(max_workers=2, max_crashes=1), st.integers(1, 4))
def test_a_cancelled_execution_never_moves_again(scenario: Scenario, phase: int) -> None:
    cluster = asyncio.run(simulate_with_cancel_between_phases(scenario, phase))

    check_history(cluster)
    log = cluster.store.event_log(cluster.execution_ids[0])
    types = [event.type for event in log]
    if EventType.EXECUTION_CANCELLED in types:
        assert types[-1] == EventType.EXECUTION_CANCELLED


async def simulate_with_cancel_in_flight(scenario: Scenario, node_id: str) -> Cluster:
    """The body of `node_id` (first execution, first attempt) asks to cancel its execution."""
    cluster = Cluster(scenario)

    async def cancel_own_execution(call: NodeCall) -> None:
        cancel = cluster.engine.cancel_execution()
        with contextlib.suppress(Conflict):  # already ended: nothing to cancel
            await cancel(CancelExecution(WORKSPACE, call.execution_id))

    cluster.executor.during[(0, node_id, 1)] = cancel_own_execution
    await cluster.start()
    await cluster.drive()
    return cluster


def scripted_nodes_with_a_sole_successor(scenario: Scenario) -> list[str]:
    """Scripted nodes with a plain edge to a node that has no other predecessor: when
    their body succeeds, that successor is ready at once."""
    edges = scenario.document["edges"]
    incoming = Counter(edge["to"] for edge in edges)
    leads = {edge["from"] for edge in edges if "when" not in edge and incoming[edge["to"]] == 1}
    return sorted(
        n["id"]
        for n in scenario.document["nodes"]
        if n["kind"] == "http_request" and n["id"] in leads
    )


@engine_settings(0.15)
@given(scenarios(max_crashes=0), st.data())
def test_no_node_starts_after_a_cancel_request(scenario: Scenario, data: st.DataObject) -> None:
    candidates = scripted_nodes_with_a_sole_successor(scenario)
    assume(candidates)
    node_id = data.draw(st.sampled_from(candidates))
    scenario.outcomes[(0, node_id, 1)] = "ok"
    cluster = asyncio.run(simulate_with_cancel_in_flight(scenario, node_id))

    check_history(cluster)
    types = [event.type for event in cluster.store.event_log(cluster.execution_ids[0])]
    if EventType.EXECUTION_CANCEL_REQUESTED in types:
        after = types[types.index(EventType.EXECUTION_CANCEL_REQUESTED) :]
        assert EventType.NODE_STARTED not in after


@engine_settings(0.25)
@given(scenarios(with_signals=True))
def test_signals_are_never_lost_and_outcomes_stay_deterministic(scenario: Scenario) -> None:
    assume(scenario.wait_nodes)
    reference = reference_of(scenario)
    cluster = asyncio.run(simulate(scenario))

    check_history(cluster)
    assert final_state(cluster) == final_state(reference)
    for execution_id in cluster.execution_ids:
        for node_id in scenario.wait_nodes:
            run = cluster.store.node_runs[execution_id][node_id]
            if scenario.signal_offsets[node_id] == 0.0:  # sent before the node could wait
                assert run.error is None or run.error["kind"] != "signal_timeout"
            if run.status.value == "succeeded":
                assert run.output == {"signal": f"sig_{node_id}", "payload": node_id}
