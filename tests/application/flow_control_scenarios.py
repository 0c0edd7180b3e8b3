"""The flow-control property, shared by the in-memory and the PostgreSQL suites: random
arrivals on a few keys, each execution in progress for a random while (a delay), workers
that crash at random port calls. Whatever happens, no key ever has more executions in
progress than its limit and every execution ends; with one worker and no crash, each key
starts its executions in order of arrival."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from domain.execution import Execution
from domain.flow_control import rate_window
from domain.status import ExecutionStatus
from tests.application.engine_sim import Cluster
from tests.application.engine_strategies import Crash, Scenario
from tests.application.sim_ports import PortsFactory


def limited(limit: int) -> dict[str, Any]:
    return {
        "nodes": [{"id": "pause", "kind": "delay", "config": {"seconds": "{{ input.pause }}"}}],
        "settings": {"concurrency": {"limit": limit, "key": "input.key"}},
    }


@st.composite
def flow_scenarios(draw: st.DrawFn, max_runs: int = 10, max_crashes: int = 2) -> Scenario:
    limit = draw(st.integers(1, 3))
    keys = draw(st.integers(1, 3))
    runs = draw(st.integers(1, max_runs))
    inputs = tuple(
        {"run": run, "key": f"k{draw(st.integers(0, keys - 1))}", "pause": draw(st.integers(1, 3))}
        for run in range(runs)
    )
    workers = draw(st.integers(1, 3))
    crashing = draw(st.sets(st.integers(0, workers - 1), max_size=min(max_crashes, workers)))
    crashes = tuple(
        Crash(worker, draw(st.integers(1, 40)), draw(st.booleans())) for worker in sorted(crashing)
    )
    yields = tuple(draw(st.lists(st.integers(0, 2), min_size=1, max_size=4)))
    return Scenario(limited(limit), inputs, {}, {}, workers, crashes, yields)


def limit_of(scenario: Scenario) -> int:
    return int(scenario.document["settings"]["concurrency"]["limit"])


async def run_checked(ports: PortsFactory, scenario: Scenario) -> tuple[Cluster, list[Execution]]:
    """Run the scenario to its end, checking the limit before every phase."""
    cluster = Cluster(scenario, ports)
    await cluster.start()
    limit = limit_of(scenario)

    async def within_limit() -> None:
        in_progress = Counter(e.flow_key for e in await cluster.executions() if e.holds_slot)
        assert max(in_progress.values(), default=0) <= limit, in_progress

    await cluster.drive(before_each_phase=within_limit)
    await within_limit()
    return cluster, await cluster.executions()


def check_outcome(cluster: Cluster, executions: list[Execution]) -> None:
    assert len(executions) == len(cluster.scenario.inputs)
    assert all(e.status is ExecutionStatus.COMPLETED for e in executions), [
        (e.status, e.waiting_reason, e.error) for e in executions
    ]
    assert not any(e.holds_slot for e in executions)
    if cluster.crashes or cluster.scenario.workers > 1:
        # Executions picked up at the same moment by different workers take free slots in
        # whichever order their transactions reach the key; one stuck in a dead worker's
        # lease may be overtaken meanwhile. Order of arrival is kept for one worker.
        return
    by_key: dict[str | None, list[Execution]] = {}
    for execution in sorted(executions, key=lambda e: (e.created_at, e.id)):
        by_key.setdefault(execution.flow_key, []).append(execution)
    for queue in by_key.values():
        starts = [e.started_at for e in queue]
        assert starts == sorted(starts), [(e.created_at, e.started_at) for e in queue]


def rate_limited(limit: int, period: int) -> dict[str, Any]:
    return {
        "nodes": [{"id": "pause", "kind": "delay", "config": {"seconds": "{{ input.pause }}"}}],
        "settings": {"rate_limit": {"limit": limit, "period_seconds": period, "key": "input.key"}},
    }


@st.composite
def rate_scenarios(draw: st.DrawFn, max_runs: int = 10) -> Scenario:
    """Like `flow_scenarios`, under a rate limit of 1-3 starts per 1-5 s per key."""
    base = draw(flow_scenarios(max_runs=max_runs))
    document = rate_limited(draw(st.integers(1, 3)), draw(st.integers(1, 5)))
    return Scenario(document, base.inputs, {}, {}, base.workers, base.crashes, base.yields)


async def run_rate_limited(
    ports: PortsFactory, scenario: Scenario
) -> tuple[Cluster, list[Execution]]:
    cluster = Cluster(scenario, ports)
    await cluster.start()
    await cluster.drive()
    return cluster, await cluster.executions()


def check_rate(cluster: Cluster, executions: list[Execution]) -> None:
    """Every execution completed, and no key started more than the limit in a window."""
    limit = cluster.scenario.document["settings"]["rate_limit"]
    period = timedelta(seconds=limit["period_seconds"])
    assert all(e.status is ExecutionStatus.COMPLETED for e in executions), [
        (e.status, e.waiting_reason, e.error) for e in executions
    ]
    started = Counter(
        (e.input["key"], rate_window(e.started_at, period)[0])
        for e in executions
        if e.started_at is not None
    )
    assert max(started.values(), default=0) <= limit["limit"], started
