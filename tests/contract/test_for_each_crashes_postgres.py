"""The for-each crash property on PostgreSQL: workers crashing at random port calls
neither lose nor repeat an item (`tests/application/test_for_each_crashes.py` is the
in-memory suite; the budget here is small and fixed, see `docs/testing.md`)."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.application.engine_strategies import Scenario
from tests.application.for_each_crashes import (
    check_each_item_ran_once,
    for_each_scenarios,
    run_with_crashes,
)
from tests.contract.test_engine_properties_postgres import budget, on_postgres

pytestmark = pytest.mark.postgres


@budget(12)
@given(for_each_scenarios())
def test_crashing_workers_run_each_item_exactly_once_on_postgres(
    contract_database_url: str, scenario: Scenario
) -> None:
    async def body(ports):  # type: ignore[no-untyped-def]
        _, outcome = await run_with_crashes(ports, scenario)
        return outcome

    outcome = on_postgres(contract_database_url, body)

    check_each_item_ran_once(scenario, outcome)
