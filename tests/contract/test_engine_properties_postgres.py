"""The engine property suite's workflows, end to end on the PostgreSQL adapter.

The same scenarios as `tests/application/test_engine_properties.py` (random workflows,
node outcomes, signals, crashes, stalls, 1-4 interleaved workers) run through the same
simulated cluster, but on `PostgresUnitOfWorkFactory` and `PostgresWorkQueue` sharing
the cluster's FakeClock. A single never-crashing worker on the in-memory adapter is the
oracle for the final state. Every example runs in its own event loop against the
contract database, emptied at the start of the example.

The budget is fixed and small (see `docs/testing.md`): this file is about the adapter
keeping the engine's guarantees, not about searching the scenario space, which the
in-memory suite does far more cheaply.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FakeClock
from adapters.postgres.direct import DirectConnection
from adapters.postgres.listener import PostgresListener
from adapters.postgres.queue import PostgresWorkQueue
from adapters.postgres.setup import create_engine
from adapters.postgres.tables import metadata
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.urls import libpq_conninfo, sqlalchemy_url
from application.engine.runner import Ending
from application.records import StoredEvent
from domain.events import EventType
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.validation import parse_definition
from tests.application.engine_sim import Cluster, final_state, outcome_of
from tests.application.engine_strategies import Scenario, scenarios
from tests.application.sim_ports import PortsFactory
from tests.application.test_engine_properties import (
    check_bodies_rerun_only_after_interruptions,
    check_timers_never_fire_early,
    reference_of,
)

pytestmark = pytest.mark.postgres

T = TypeVar("T")
POOL_SIZE = 4  # up to four workers plus the use cases; overflow covers the rest
ALL_EVENTS = 1_000_000
_TRUNCATE = text(
    "TRUNCATE " + ", ".join(table.name for table in metadata.sorted_tables) + " CASCADE"
)
_EXPIRE_LEASES = text("UPDATE executions SET lease_expires_at = :now WHERE lease_expires_at > :now")


def budget(max_examples: int) -> settings:
    """A fixed, derandomized budget: the same examples on every run, whatever the profile."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# ---- The Postgres adapter under the simulated cluster -------------------------------------


class PostgresPorts:
    """The Postgres adapter set on the cluster's clock (satisfies `SimPorts`)."""

    def __init__(self, engine: AsyncEngine, url: str, clock: FakeClock) -> None:
        self._engine = engine
        self._clock = clock
        self.uow_factory = PostgresUnitOfWorkFactory(engine, clock)
        # `run_until_idle` never waits for notifications, so the listener is never started.
        self.queue = PostgresWorkQueue(
            DirectConnection(libpq_conninfo(url)), clock, PostgresListener(libpq_conninfo(url))
        )

    async def expire_leases(self) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(_EXPIRE_LEASES, {"now": self._clock.now()})


def on_postgres(url: str, body: Callable[[PortsFactory], Awaitable[T]]) -> T:
    """Run `body` in a fresh event loop against the emptied contract database."""

    async def run() -> T:
        engine = create_engine(url, pool_size=POOL_SIZE)
        made: list[PostgresPorts] = []

        def ports(clock: FakeClock) -> PostgresPorts:
            made.append(PostgresPorts(engine, sqlalchemy_url(url), clock))
            return made[-1]

        try:
            async with engine.begin() as connection:
                await connection.execute(_TRUNCATE)
            return await body(ports)
        finally:
            for each in made:
                await each.queue.close()
            await engine.dispose()

    return asyncio.run(run())


# ---- Reading and checking what the adapter stored -----------------------------------------


@dataclass(frozen=True)
class ExecutionState:
    """One execution as stored: its row, its node runs and its whole history."""

    execution: Execution
    node_runs: dict[str, NodeRun]
    events: list[StoredEvent]


async def read_states(cluster: Cluster) -> list[ExecutionState]:
    """Every execution of the scenario as stored now, in start order."""
    found = []
    async with cluster.ports.uow_factory() as uow:
        for execution_id in cluster.execution_ids:
            execution = await uow.executions.get(execution_id)
            assert execution is not None, execution_id
            runs = await uow.node_runs.get_all(execution_id)
            log = await uow.events.search(execution_id, limit=ALL_EVENTS)
            found.append(ExecutionState(execution, runs, log))
    return found


def check_history(cluster: Cluster, states: list[ExecutionState]) -> None:
    """The memory suite's history invariants, over what Postgres stored."""
    definition = parse_definition(cluster.scenario.document)
    for run, state in enumerate(states):
        execution, log = state.execution, state.events
        assert execution.status.is_terminal, execution.status
        assert [e.seq for e in log] == list(range(1, len(log) + 1)), execution.id
        assert execution.seq == len(log)
        succeeded = Counter(e.node_id for e in log if e.type == EventType.NODE_SUCCEEDED)
        assert all(count == 1 for count in succeeded.values()), succeeded
        for entry in log:
            if entry.type == EventType.NODE_STARTED:
                assert entry.node_id is not None and entry.attempt is not None
                assert entry.attempt <= definition.retry_policy(entry.node_id).max_attempts
        for node_id, node_run in state.node_runs.items():
            assert node_run.attempt <= definition.retry_policy(node_id).max_attempts
        check_bodies_rerun_only_after_interruptions(cluster, run, log)
        check_timers_never_fire_early(log)
        if execution.status.value == "timed_out":
            assert execution.deadline_at is not None and execution.finished_at is not None
            assert execution.finished_at >= execution.deadline_at


def final_state_of(states: list[ExecutionState]) -> list[Any]:
    return [outcome_of(state.execution, state.node_runs) for state in states]


# ---- The properties -----------------------------------------------------------------------


async def crash_and_interleave(ports: PortsFactory, scenario: Scenario) -> list[Any]:
    cluster = Cluster(scenario, ports)
    await cluster.start()
    await cluster.drive()
    states = await read_states(cluster)
    check_history(cluster, states)
    event(("no worker crashed", "one worker crashed", "workers crashed")[min(cluster.crashes, 2)])
    return final_state_of(states)


@budget(30)
@given(st.booleans().flatmap(lambda signals: scenarios(with_signals=signals)))
def test_crashes_and_interleavings_change_no_outcome_on_postgres(
    contract_database_url: str, scenario: Scenario
) -> None:
    oracle = final_state(reference_of(scenario))

    found = on_postgres(contract_database_url, lambda ports: crash_and_interleave(ports, scenario))

    assert found == oracle


async def stall_and_take_over(ports: PortsFactory, scenario: Scenario, stall_at: int) -> Any:
    """A worker stalls at a transaction start; its lease lapses and another worker takes
    over; the stalled worker then wakes up and must not be able to write anything."""
    cluster = Cluster(scenario.with_workers(1), ports)
    await cluster.start()
    zombie = cluster.new_worker(stall_at=stall_at)
    working = asyncio.create_task(zombie.loop.run_until_idle())
    stalled = asyncio.create_task(zombie.calls.stalled.wait())
    await asyncio.wait([working, stalled], return_when=asyncio.FIRST_COMPLETED)
    stalled.cancel()
    if not working.done():
        event("the stalled worker's lease was taken over")
        ended_before_stall = len(zombie.endings)
        await cluster.ports.expire_leases()
        await cluster.run_phase()
        before = await read_states(cluster)
        zombie.calls.resume.set()
        await working
        assert await read_states(cluster) == before
        assert zombie.endings[ended_before_stall].ending in (Ending.LEASE_LOST, Ending.GONE)
    else:
        await working
    await cluster.drive()
    states = await read_states(cluster)
    check_history(cluster, states)
    return final_state_of(states)


@budget(20)
@given(scenarios(max_workers=1, max_crashes=0), st.integers(1, 12))
def test_a_worker_that_lost_its_lease_writes_nothing_on_postgres(
    contract_database_url: str, scenario: Scenario, stall_at: int
) -> None:
    oracle = final_state(reference_of(scenario))

    found = on_postgres(
        contract_database_url, lambda ports: stall_and_take_over(ports, scenario, stall_at)
    )

    assert found == oracle
