"""`GET /api/v1/node-kinds` and saving with kinds from installed packages, on the API over
memory with the example package installed (the process is its own worker, so it registers
the kinds it has when it starts)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

SLUG = "text.slugify"
CRM = "crm.lookup_customer"


def slug_workflow(config: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": [{"id": "slug", "kind": SLUG, "config": config}]}


async def test_the_catalogue_lists_built_in_kinds_then_installed_ones_with_their_forms(
    api: Api,
) -> None:
    response = await api.client.get("/api/v1/node-kinds", headers=api.auth("a_viewer"))

    assert response.status_code == 200
    kinds = response.json()
    names = [kind["kind"] for kind in kinds]
    builtin = [kind["kind"] for kind in kinds if kind["builtin"]]
    assert names[: len(builtin)] == builtin and "http_request" in builtin
    assert {CRM, SLUG} <= set(names) - set(builtin)
    slug = next(kind for kind in kinds if kind["kind"] == SLUG)
    assert slug["title"] == "Slugify"
    assert slug["description"].startswith("Turn a text into")
    assert slug["config_schema"]["required"] == ["text"]
    assert slug["config_schema"]["properties"]["max_length"]["maximum"] == 200
    assert slug["example"]["text"] == "{{ input.title }}"
    assert slug["package"].startswith("treadle-example-nodes ")
    assert slug["last_seen_at"] is not None


async def test_the_catalogue_needs_a_token(api: Api) -> None:
    response = await api.client.get("/api/v1/node-kinds")

    assert response.status_code == 401


async def test_a_workflow_with_an_installed_kind_runs_and_its_output_is_stored(api: Api) -> None:
    created = await api.client.post(
        "/api/v1/workflows",
        headers=api.auth("a_editor"),
        json={"name": "slugs", "definition": slug_workflow({"text": "{{ input.title }}"})},
    )
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    started = await api.client.post(
        f"/api/v1/workflows/{workflow_id}/run",
        headers=api.auth("a_editor"),
        json={"input": {"title": "Hello, Wörld!"}},
    )
    await api.drain()

    execution_id = started.json()["execution_id"]
    detail = await api.client.get(f"/api/v1/executions/{execution_id}", headers=api.auth())
    assert detail.json()["status"] == "completed"
    assert detail.json()["output"] == {"slug": {"slug": "hello-world"}}


async def test_a_kind_no_worker_has_is_a_422_naming_it(api: Api) -> None:
    definition = {
        "nodes": [
            {"id": "a", "kind": "crm.lookup_custmer", "config": {}},
            {"id": "a", "kind": "noop"},
        ]
    }
    response = await api.client.post(
        "/api/v1/workflows", headers=api.auth(), json={"name": "typo", "definition": definition}
    )

    assert response.status_code == 422
    problems = {(p["code"], p["path"]) for p in response.json()["error"]["details"]}
    assert problems == {
        ("unknown_node_kind", "nodes[0].kind"),
        ("duplicate_node_id", "nodes[1].id"),
    }
    [unknown] = [p for p in response.json()["error"]["details"] if p["path"] == "nodes[0].kind"]
    assert unknown["message"].endswith("did you mean 'crm.lookup_customer'?")
    listed = await api.client.get("/api/v1/workflows", headers=api.auth())
    assert "typo" not in [item["name"] for item in listed.json()["items"]]


async def test_a_config_its_model_refuses_is_a_422_at_its_path(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/workflows/validate",
        headers=api.auth(),
        json={"name": "bad", "definition": slug_workflow({"text": "x", "max_length": 0})},
    )

    body = response.json()
    assert response.status_code == 200 and body["valid"] is False
    [problem] = body["problems"]
    assert (problem["code"], problem["path"]) == ("invalid_config", "nodes[0].config.max_length")
    assert "greater than or equal to 1" in problem["message"]
