"""Concurrency limits under random arrivals, durations and worker crashes, in memory
(`tests/contract/test_flow_control_properties_postgres.py` runs them on PostgreSQL)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, event, given, settings

from tests.application.engine_strategies import Scenario
from tests.application.flow_control_scenarios import (
    check_outcome,
    check_rate,
    flow_scenarios,
    rate_scenarios,
    run_checked,
    run_rate_limited,
)
from tests.application.sim_ports import MemoryPorts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_scenarios())
def test_no_key_ever_runs_more_than_its_limit_and_every_execution_ends(
    scenario: Scenario,
) -> None:
    cluster, executions = asyncio.run(run_checked(MemoryPorts.on, scenario))

    check_outcome(cluster, executions)
    event(("no worker crashed", "one worker crashed", "workers crashed")[min(cluster.crashes, 2)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate_scenarios())
def test_no_key_ever_starts_more_than_its_rate_in_a_window(scenario: Scenario) -> None:
    cluster, executions = asyncio.run(run_rate_limited(MemoryPorts.on, scenario))

    check_rate(cluster, executions)
