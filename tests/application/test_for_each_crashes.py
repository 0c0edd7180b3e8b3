"""Workers crashing at random port calls neither lose nor repeat a for-each item (in memory;
`tests/contract/test_for_each_crashes_postgres.py` runs the same property on PostgreSQL)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, event, given, settings

from tests.application.engine_strategies import Scenario
from tests.application.for_each_crashes import (
    check_each_item_ran_once,
    for_each_scenarios,
    run_with_crashes,
)
from tests.application.sim_ports import MemoryPorts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(for_each_scenarios())
def test_crashing_workers_run_each_item_exactly_once(scenario: Scenario) -> None:
    cluster, outcome = asyncio.run(run_with_crashes(MemoryPorts.on, scenario))

    check_each_item_ran_once(scenario, outcome)
    event(("no worker crashed", "one worker crashed", "workers crashed")[min(cluster.crashes, 2)])
