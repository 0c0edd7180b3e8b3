"""Isolation between workspaces, roles, and bad input answered with 4xx."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.workflows import ECHO, create, run


async def b_resources(api: Api) -> dict[str, str]:
    """A workflow, execution, schedule and secret in workspace B."""
    workflow_id = await create(api, ECHO, who="b_admin")
    execution_id = await run(api, workflow_id, {"x": 1}, who="b_admin")
    schedule = await api.request(
        "POST",
        "/api/v1/schedules",
        "b_admin",
        json={"workflow_id": workflow_id, "cron": "* * * * *"},
    )
    await api.request("POST", "/api/v1/secrets", "b_admin", json={"name": "B_SECRET", "value": "v"})
    return {"wf": workflow_id, "ex": execution_id, "sch": schedule.json()["id"], "sec": "B_SECRET"}


async def test_workspace_a_gets_404_for_every_resource_of_workspace_b(api: Api) -> None:
    ids = await b_resources(api)
    wf, ex, sch, sec = ids["wf"], ids["ex"], ids["sch"], ids["sec"]
    calls = [
        ("GET", f"/api/v1/workflows/{wf}", None),
        ("PUT", f"/api/v1/workflows/{wf}", {"definition": ECHO}),
        ("GET", f"/api/v1/workflows/{wf}/versions", None),
        ("GET", f"/api/v1/workflows/{wf}/versions/1", None),
        ("GET", f"/api/v1/workflows/{wf}/executions", None),
        ("POST", f"/api/v1/workflows/{wf}/archive", None),
        ("POST", f"/api/v1/workflows/{wf}/run", {}),
        ("GET", f"/api/v1/executions/{ex}", None),
        ("GET", f"/api/v1/executions/{ex}/events", None),
        ("GET", f"/api/v1/executions/{ex}/signals", None),
        ("GET", f"/api/v1/executions/{ex}/stream", None),
        ("POST", f"/api/v1/executions/{ex}/signals/go", {}),
        ("POST", f"/api/v1/executions/{ex}/cancel", None),
        ("POST", f"/api/v1/executions/{ex}/retry", None),
        ("POST", f"/api/v1/executions/{ex}/rerun", None),
        ("GET", f"/api/v1/schedules/{sch}", None),
        ("GET", f"/api/v1/schedules?workflow_id={wf}", None),
        ("PATCH", f"/api/v1/schedules/{sch}", {"enabled": False}),
        ("POST", f"/api/v1/schedules/{sch}/disable", None),
        ("DELETE", f"/api/v1/schedules/{sch}", None),
        ("POST", "/api/v1/schedules", {"workflow_id": wf, "cron": "* * * * *"}),
        ("PUT", f"/api/v1/secrets/{sec}", {"value": "stolen"}),
        ("DELETE", f"/api/v1/secrets/{sec}", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, "a_admin", json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    listed = await api.request("GET", "/api/v1/executions", "a_admin")
    assert listed.json()["items"] == []
    secrets = await api.request("GET", "/api/v1/secrets", "a_admin")
    assert secrets.json() == []
    still = await api.request("GET", f"/api/v1/executions/{ex}", "b_viewer")
    assert still.json()["status"] == "pending"


async def test_a_viewer_gets_403_on_every_write(api: Api) -> None:
    wf = await create(api, ECHO)
    ex = await run(api, wf)
    writes = [
        ("POST", "/api/v1/workflows", {"name": "v", "definition": ECHO}),
        ("PUT", f"/api/v1/workflows/{wf}", {"definition": ECHO}),
        ("POST", f"/api/v1/workflows/{wf}/archive", None),
        ("POST", f"/api/v1/workflows/{wf}/run", {}),
        ("POST", f"/api/v1/executions/{ex}/signals/go", {}),
        ("POST", f"/api/v1/executions/{ex}/cancel", None),
        ("POST", f"/api/v1/executions/{ex}/retry", None),
        ("POST", f"/api/v1/executions/{ex}/rerun", None),
        ("POST", "/api/v1/schedules", {"workflow_id": wf, "cron": "* * * * *"}),
        ("PATCH", "/api/v1/schedules/sch_x", {"enabled": False}),
        ("POST", "/api/v1/schedules/sch_x/enable", None),
        ("DELETE", "/api/v1/schedules/sch_x", None),
        ("POST", "/api/v1/secrets", {"name": "S", "value": "v"}),
        ("PUT", "/api/v1/secrets/S", {"value": "v"}),
        ("DELETE", "/api/v1/secrets/S", None),
        ("POST", "/api/v1/tokens", {"name": "t", "role": "admin"}),
        ("DELETE", "/api/v1/tokens/tok_x", None),
    ]
    for method, path, body in writes:
        response = await api.request(method, path, "a_viewer", json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "admin_only"),
    [("/api/v1/secrets", True), ("/api/v1/tokens", True), ("/api/v1/workflows", False)],
)
async def test_an_editor_may_not_touch_secrets_or_tokens(
    api: Api, path: str, admin_only: bool
) -> None:
    response = await api.request("GET", path, "a_editor")
    assert response.status_code == (403 if admin_only else 200)


async def test_a_token_naming_another_workspace_is_refused(api: Api) -> None:
    def named(workspace: str) -> dict[str, str]:
        return {**api.auth("a_viewer"), "X-Treadle-Workspace": workspace}

    own = await api.client.get("/api/v1/workflows", headers=named("workspace-a"))
    other = await api.client.get("/api/v1/workflows", headers=named("workspace-b"))

    assert own.status_code == 200
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_a_member"


async def test_missing_or_unknown_tokens_are_401(api: Api) -> None:
    assert (await api.client.get("/api/v1/workflows")).status_code == 401
    bad = await api.client.get("/api/v1/workflows", headers={"Authorization": "Bearer trd_nope"})
    assert bad.status_code == 401
    basic = await api.client.get("/api/v1/workflows", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    query = await api.client.get(f"/api/v1/workflows?token={api.tokens['a_admin']}")
    assert query.status_code == 401, "only the event streams take ?token="
    assert (await api.client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b'{"name": "x", "definition": {}, "unexpected": 1}', 400),
        (b'{"name": 5, "definition": {}}', 400),
        (b'{"definition": {}}', 400),
        (b'{"name": "", "definition": {}}', 400),
        (b"[1, 2]", 400),
        (b'{"name": "x", "definition": {}}', 422),
    ],
)
async def test_bad_bodies_are_4xx_with_an_error_code(api: Api, content: bytes, status: int) -> None:
    headers = {**api.auth(), "Content-Type": "application/json"}
    response = await api.client.post("/api/v1/workflows", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]


async def test_a_body_over_the_limit_is_413(api: Api) -> None:
    huge = b'{"name": "x", "definition": {"nodes": [], "pad": "' + b"a" * 70_000 + b'"}}'
    headers = {**api.auth(), "Content-Type": "application/json"}
    response = await api.client.post("/api/v1/workflows", content=huge, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "query",
    [
        "cursor=not-a-cursor",
        "cursor=eyJrIjoid29ya2Zsb3dzIn0",
        "limit=0",
        "limit=x",
        "status=bogus",
        "created_after=yesterday",
    ],
)
async def test_bad_query_parameters_are_400(api: Api, query: str) -> None:
    response = await api.request("GET", f"/api/v1/executions?{query}")
    assert response.status_code == 400, response.text


async def test_a_start_at_without_an_offset_is_400(api: Api) -> None:
    wf = await create(api, ECHO)
    response = await api.request(
        "POST", f"/api/v1/workflows/{wf}/run", json={"start_at": "2030-01-01T00:00:00"}
    )
    assert response.status_code == 400
