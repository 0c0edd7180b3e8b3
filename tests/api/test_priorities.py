"""Priorities and queues over HTTP: a run's priority (single and bulk), the workflow's
defaults, both shown on the execution; bad values are 422."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.workflows import ECHO, create


async def detail(api: Api, execution_id: str) -> Any:
    response = await api.request("GET", f"/api/v1/executions/{execution_id}")
    return response.json()


async def test_a_run_takes_its_priority_else_the_workflows(api: Api) -> None:
    tuned = await create(api, {**ECHO, "settings": {"priority": 7, "queue": "ai.slow"}})
    path = f"/api/v1/workflows/{tuned}/run"
    own = await api.request("POST", path, json={"input": {"x": 1}, "priority": 9})
    default = await api.request("POST", path, json={"input": {"x": 1}})
    assert (own.status_code, default.status_code) == (201, 201)
    first = await detail(api, own.json()["execution_id"])
    second = await detail(api, default.json()["execution_id"])
    assert (first["priority"], first["queue"]) == (9, "ai.slow")
    assert (second["priority"], second["queue"]) == (7, "ai.slow")
    plain = await create(api, ECHO, name="plain")
    response = await api.request("POST", f"/api/v1/workflows/{plain}/run", json={})
    shown = await detail(api, response.json()["execution_id"])
    assert (shown["priority"], shown["queue"]) == (5, "default")


async def test_bulk_runs_take_a_priority_each(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    runs = [{"input": {"x": 1}, "priority": 0}, {"input": {"x": 2}}]
    response = await api.request(
        "POST", f"/api/v1/workflows/{workflow_id}/runs", json={"runs": runs}
    )
    assert response.status_code == 201, response.text
    ids = [run["execution_id"] for run in response.json()["runs"]]
    assert [(await detail(api, i))["priority"] for i in ids] == [0, 5]


async def test_a_priority_out_of_range_is_400_and_a_bad_setting_422(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    for priority in (-1, 10, "high", 5.5):
        response = await api.request(
            "POST", f"/api/v1/workflows/{workflow_id}/run", json={"priority": priority}
        )
        assert response.status_code == 400, priority
    for settings in ({"queue": "has space"}, {"queue": ""}, {"priority": 12}):
        response = await api.request(
            "POST",
            "/api/v1/workflows",
            json={"name": "bad", "definition": {**ECHO, "settings": settings}},
        )
        assert response.status_code == 422, settings
