"""Concurrency limits under random arrivals, durations and worker crashes, on PostgreSQL
(the in-memory suite is `tests/application/test_flow_control_properties.py`; the budget
here is small and fixed, see `docs/testing.md`)."""

from __future__ import annotations

import pytest
from hypothesis import given

from domain.execution import Execution
from tests.application.engine_sim import Cluster
from tests.application.engine_strategies import Scenario
from tests.application.flow_control_scenarios import (
    check_outcome,
    check_rate,
    flow_scenarios,
    rate_scenarios,
    run_checked,
    run_rate_limited,
)
from tests.application.sim_ports import PortsFactory
from tests.contract.test_engine_properties_postgres import budget, on_postgres

pytestmark = pytest.mark.postgres


@budget(15)
@given(flow_scenarios())
def test_no_key_ever_runs_more_than_its_limit_on_postgres(
    contract_database_url: str, scenario: Scenario
) -> None:
    async def body(ports: PortsFactory) -> tuple[Cluster, list[Execution]]:
        return await run_checked(ports, scenario)

    cluster, executions = on_postgres(contract_database_url, body)

    check_outcome(cluster, executions)


@budget(10)
@given(rate_scenarios())
def test_no_key_ever_starts_more_than_its_rate_in_a_window_on_postgres(
    contract_database_url: str, scenario: Scenario
) -> None:
    async def body(ports: PortsFactory) -> tuple[Cluster, list[Execution]]:
        return await run_rate_limited(ports, scenario)

    cluster, executions = on_postgres(contract_database_url, body)

    check_rate(cluster, executions)
