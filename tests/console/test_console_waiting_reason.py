"""An execution says on its console page and in the API why flow control holds it back, and
which priority and queue it has when they are not the defaults."""

from __future__ import annotations

import json
from typing import Any

from tests.console.test_console_children import Runs, runs  # noqa: F401  (the fixture)

ONE_AT_A_TIME: dict[str, Any] = {
    "nodes": [{"id": "gate", "kind": "wait_for_signal", "config": {"signal": "go"}}],
    "settings": {"concurrency": {"limit": 1, "key": "input.customer"}},
}


async def test_a_run_waiting_for_a_slot_says_so(runs: Runs) -> None:  # noqa: F811
    await runs.sign_in("a_admin")
    workflow_id = await runs.workflow(ONE_AT_A_TIME, name="one-at-a-time")
    paths = []
    for _ in range(2):
        started = await runs.post(
            f"/console/workflows/{workflow_id}/run", input=json.dumps({"customer": "acme"})
        )
        paths.append(str(started.headers["location"]).split("?")[0])
    await runs.drain()

    first, second = [await runs.page(path) for path in paths]

    assert "data-waiting-reason" not in first
    reason = second.split("data-waiting-reason>", 1)[1].split("</div>", 1)[0]
    assert reason == "waiting for a concurrency slot (key acme: 1 of 1 running)"
    execution_id = paths[1].rsplit("/", 1)[1]
    response = await runs.client.get(
        f"/api/v1/executions/{execution_id}",
        headers={"Authorization": f"Bearer {runs.tokens['a_admin']}"},
    )
    body = response.json()
    assert body["waiting_reason"] == {
        "kind": "concurrency",
        "key": "acme",
        "running": 1,
        "limit": 1,
    }
    assert body["waiting_message"] == reason


async def test_a_run_off_the_defaults_shows_its_priority_and_queue(
    runs: Runs,  # noqa: F811
) -> None:
    await runs.sign_in("a_admin")
    urgent = {"nodes": [{"id": "a", "kind": "noop"}], "settings": {"priority": 8, "queue": "ai"}}
    plain = {"nodes": [{"id": "a", "kind": "noop"}]}
    pages = []
    for name, definition in (("urgent", urgent), ("plain", plain)):
        workflow_id = await runs.workflow(definition, name=name)
        started = await runs.post(f"/console/workflows/{workflow_id}/run", input="{}")
        pages.append(await runs.page(str(started.headers["location"]).split("?")[0]))

    shown = pages[0].split("data-priority-queue>", 1)[1].split("</span>", 1)[0]
    assert shown == "priority 8 · queue ai"
    assert "data-priority-queue" not in pages[1]
