"""Bulk runs over HTTP: up to 1,000 runs in one request, answered in order, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.workflows import ECHO, create


def runs_path(workflow_id: str) -> str:
    return f"/api/v1/workflows/{workflow_id}/runs"


def executions_of(api: Api, workflow_id: str) -> list[Any]:
    assert api.store is not None
    return [e for e in api.store.executions.values() if e.workflow_id == workflow_id]


def assert_refused(response: Any, path: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [detail["path"] for detail in error["details"]] == [path], error


async def test_a_thousand_runs_are_started_and_answered_in_order(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    body = {"runs": [{"input": {"x": n}} for n in range(1000)]}

    response = await api.request("POST", runs_path(workflow_id), "a_editor", json=body)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["created"] == 1000
    ids = [run["execution_id"] for run in answer["runs"]]
    assert len(set(ids)) == 1000
    assert all(run["status"] == "pending" and run["created"] for run in answer["runs"])
    assert api.store is not None
    assert [api.store.executions[i].input for i in ids] == [{"x": n} for n in range(1000)]
    assert await api.drain() >= 1
    assert all(api.store.executions[i].status.value == "completed" for i in ids)


async def test_keys_already_used_and_repeated_answer_one_execution(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    single = await api.client.post(
        f"/api/v1/workflows/{workflow_id}/run",
        json={"input": {"x": 0}},
        headers={**api.auth(), "Idempotency-Key": "order-0"},
    )
    body = {
        "runs": [
            {"input": {"x": 0}, "idempotency_key": "order-0"},
            {"input": {"x": 1}, "idempotency_key": "order-1"},
            {"input": {"x": 1}, "idempotency_key": "order-1"},
            {"input": {"x": 2}},
        ]
    }

    first = await api.request("POST", runs_path(workflow_id), json=body)
    again = await api.request("POST", runs_path(workflow_id), json={"runs": body["runs"][:3]})

    assert first.status_code == 201, first.text
    runs = first.json()["runs"]
    assert [run["created"] for run in runs] == [False, True, False, True]
    assert runs[0]["execution_id"] == single.json()["execution_id"]
    assert runs[1]["execution_id"] == runs[2]["execution_id"]
    assert first.json()["created"] == 2
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0
    assert [r["execution_id"] for r in again.json()["runs"]] == [
        r["execution_id"] for r in runs[:3]
    ]
    assert len(executions_of(api, workflow_id)) == 3


async def test_more_than_a_thousand_runs_or_none_is_422(api: Api) -> None:
    workflow_id = await create(api, ECHO)

    too_many = await api.request("POST", runs_path(workflow_id), json={"runs": [{}] * 1001})
    empty = await api.request("POST", runs_path(workflow_id), json={"runs": []})

    assert_refused(too_many, "runs")
    assert "at most 1,000 runs" in too_many.json()["error"]["message"]
    assert_refused(empty, "runs")
    assert executions_of(api, workflow_id) == []


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ({"start_at": "tomorrow"}, "runs[2].start_at"),
        ({"start_at": "2999-01-01T00:00:00"}, "runs[2].start_at"),  # no offset
        ({"version": 0}, "runs[2].version"),
        ({"idempotency_key": "k" * 201}, "runs[2].idempotency_key"),
        ({"idempotency_key": ""}, "runs[2].idempotency_key"),
        ({"inputs": {}}, "runs[2]"),
        ({"input": {"name": "a\u0000b"}}, "runs[2].input.name"),
        ({"input": {"n": 2**64}}, "runs[2].input.n"),
    ],
)
async def test_a_bad_run_is_422_with_its_path_and_starts_nothing(
    api: Api, bad: dict[str, Any], path: str
) -> None:
    workflow_id = await create(api, ECHO)
    body = {"runs": [{"input": {"x": 0}}, {"input": {"x": 1}}, bad, {"input": {"x": 3}}]}

    response = await api.request("POST", runs_path(workflow_id), json=body)

    assert_refused(response, path)
    assert executions_of(api, workflow_id) == []


async def test_a_body_without_runs_is_400(api: Api) -> None:
    workflow_id = await create(api, ECHO)

    response = await api.request("POST", runs_path(workflow_id), json={"run": []})

    assert response.status_code == 400, response.text


async def test_a_missing_archived_or_other_workspaces_workflow_is_404(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    body = {"runs": [{"input": {"x": 1}}]}

    missing = await api.request("POST", runs_path("wf_missing"), json=body)
    elsewhere = await api.request("POST", runs_path(workflow_id), "b_admin", json=body)
    no_version = await api.request(
        "POST", runs_path(workflow_id), json={"runs": [{}, {"version": 9}]}
    )
    await api.request("POST", f"/api/v1/workflows/{workflow_id}/archive")
    archived = await api.request("POST", runs_path(workflow_id), json=body)

    assert [r.status_code for r in (missing, elsewhere, no_version, archived)] == [404] * 4
    assert "runs[1]" in no_version.json()["error"]["message"]
    assert executions_of(api, workflow_id) == []


async def test_a_viewer_cannot_start_runs(api: Api) -> None:
    workflow_id = await create(api, ECHO)

    response = await api.request("POST", runs_path(workflow_id), "a_viewer", json={"runs": [{}]})

    assert response.status_code == 403
