"""A poison pill in a real worker process: an execution whose step fails every time (its
stored definition can no longer be read) ends `failed` with an `engine_error` after the
configured number of failed steps, instead of being claimed again forever."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.worker.harness import Harness

pytestmark = [pytest.mark.e2e]

ONE_NODE: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}]}
FAILURES = 2


async def test_a_step_that_always_fails_ends_the_execution_as_an_engine_error(
    harness: Harness,
) -> None:
    workflow_id = await harness.create_workflow(ONE_NODE)
    execution_id = await harness.start_run(workflow_id)
    # A stored definition this version cannot read: every step fails before it starts.
    harness.query(
        "UPDATE workflow_versions SET document = %s WHERE workflow_id = %s RETURNING version",
        json.dumps({"nodes": "not a list"}),
        workflow_id,
    )
    await harness.start_workers(
        TREADLE_POISON_PILL_AFTER=str(FAILURES),
        TREADLE_LEASE_SECONDS="1",
        TREADLE_HEARTBEAT_SECONDS="0.5",
    )

    ended = await harness.status_becomes(execution_id, "failed")

    assert ended["error"]["kind"] == "engine_error"
    assert f"failed {FAILURES} times in a row" in ended["error"]["message"]
    assert "InvalidDefinition" in ended["error"]["message"]
    assert ended["step_failures"] == 0
    assert harness.node_runs(execution_id)["only"]["status"] == "cancelled"
    assert [event["type"] for event in harness.events(execution_id)][-1] == "execution_failed"
