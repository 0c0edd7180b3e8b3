"""A cron schedule served by three worker processes fires once per fire time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.worker.harness import Harness, eventually

pytestmark = [pytest.mark.e2e]

GREET: dict[str, Any] = {
    "nodes": [{"id": "greet", "kind": "transform", "config": {"output": "{{ input.who }}"}}],
    "edges": [],
}
EVERY_SECOND = "* * * * * *"
"""croniter reads a sixth field as seconds: this fires on every second boundary."""
FIRES_TO_SEE = 4


async def test_three_workers_fire_a_cron_schedule_exactly_once_per_fire_time(
    harness: Harness,
) -> None:
    workers = await harness.start_workers(3)
    workflow_id = await harness.create_workflow(GREET)
    schedule_id = await harness.create_schedule(workflow_id, EVERY_SECOND, {"who": "ada"})

    def fired() -> list[dict[str, Any]]:
        statement = "SELECT * FROM executions WHERE schedule_id = %s ORDER BY scheduled_for"
        return harness.query(statement, schedule_id)

    await eventually(lambda: len(fired()) >= FIRES_TO_SEE, f"{FIRES_TO_SEE} fires")
    await harness.disable_schedule(schedule_id)
    for execution in fired():
        await harness.status_becomes(execution["id"])

    executions = fired()
    fire_times = [execution["scheduled_for"] for execution in executions]
    assert len(fire_times) >= FIRES_TO_SEE
    assert len(set(fire_times)) == len(fire_times), "a fire time ran more than once"
    assert all(time.microsecond == 0 for time in fire_times)
    assert {execution["status"] for execution in executions} == {"completed"}
    assert all(execution["output"] == {"greet": "ada"} for execution in executions)
    for worker in workers:
        assert worker.lines_with("worker step failed") == []
