"""Workflows over HTTP: create, validate, list, version, archive."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.workflows import BROKEN, ECHO, WAITS_FOR_GO, create


async def test_create_then_get_returns_the_definition(api: Api) -> None:
    workflow_id = await create(api, ECHO, "echo")
    response = await api.request("GET", f"/api/v1/workflows/{workflow_id}", "a_viewer")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "echo"
    assert body["version"] == 1
    assert [node["id"] for node in body["definition"]["nodes"]] == ["double", "done"]


async def test_an_invalid_definition_is_422_with_every_problem_and_its_path(api: Api) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "bad", "definition": BROKEN}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_definition"
    paths = {problem["path"] for problem in error["details"]}
    assert len(error["details"]) >= 3
    assert "nodes[0].kind" in paths
    assert all({"code", "path", "message"} <= set(p) for p in error["details"])


async def test_a_duplicate_name_is_409(api: Api) -> None:
    await create(api, ECHO, "same")
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "same", "definition": ECHO}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


async def test_update_makes_a_new_version_and_old_ones_stay_readable(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await api.request(
        "PUT", f"/api/v1/workflows/{workflow_id}", "a_editor", json={"definition": WAITS_FOR_GO}
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    versions = await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions")
    assert [v["version"] for v in versions.json()] == [2, 1]
    first = await api.request("GET", f"/api/v1/workflows/{workflow_id}?version=1")
    assert first.json()["definition"]["nodes"][0]["id"] == "double"
    one = await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions/1")
    assert one.json()["version"] == 1
    missing = await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions/9")
    assert missing.status_code == 404


async def test_list_filters_by_name_and_pages_with_a_cursor(api: Api) -> None:
    for name in ("alpha", "beta", "alphabet"):
        await create(api, ECHO, name)
    matching = await api.request("GET", "/api/v1/workflows?name=alpha")
    assert sorted(w["name"] for w in matching.json()["items"]) == ["alpha", "alphabet"]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.request("GET", f"/api/v1/workflows{query}")).json()
        seen += [w["name"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["alpha", "alphabet", "beta"]


async def test_an_archived_workflow_cannot_run_and_leaves_the_default_list(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await api.request("POST", f"/api/v1/workflows/{workflow_id}/archive", "a_editor")
    assert response.status_code == 200
    assert response.json()["archived"] is True
    listed = await api.request("GET", "/api/v1/workflows")
    assert listed.json()["items"] == []
    everything = await api.request("GET", "/api/v1/workflows?include_archived=true")
    assert [w["id"] for w in everything.json()["items"]] == [workflow_id]
    run = await api.request("POST", f"/api/v1/workflows/{workflow_id}/run", json={})
    assert run.status_code == 404
