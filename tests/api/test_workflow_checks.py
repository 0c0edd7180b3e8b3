"""What saving a workflow checks beyond its shape, over HTTP: template and expression
syntax, `nodes.<id>` reads, sub-workflows, secrets (a warning), and the validate endpoint
that checks without storing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.workflows import ECHO, create

UNCLOSED_TEMPLATE: dict[str, Any] = {
    "nodes": [
        {"id": "start", "kind": "noop"},
        {
            "id": "call",
            "kind": "http_request",
            "config": {"url": "https://example.com/{{ input.x ", "method": "GET"},
        },
    ],
    "edges": [{"from": "start", "to": "call"}],
}

BROKEN_CONDITION: dict[str, Any] = {
    "nodes": [
        {
            "id": "pick",
            "kind": "condition",
            "config": {"cases": [{"when": "yes", "if": "input.x >"}], "default": "no"},
        },
        {"id": "then", "kind": "noop"},
    ],
    "edges": [{"from": "pick", "to": "then", "when": "yes"}],
}

UNKNOWN_NODE: dict[str, Any] = {
    "nodes": [
        {"id": "fetch", "kind": "transform", "config": {"output": 1}},
        {"id": "use", "kind": "transform", "config": {"output": "{{ nodes.fecth.output }}"}},
    ],
    "edges": [{"from": "fetch", "to": "use"}],
}

NOT_UPSTREAM: dict[str, Any] = {
    "nodes": [
        {"id": "first", "kind": "transform", "config": {"output": "{{ nodes.second.output }}"}},
        {"id": "second", "kind": "transform", "config": {"output": 2}},
    ],
    "edges": [{"from": "first", "to": "second"}],
}

UNKNOWN_CHILD: dict[str, Any] = {
    "nodes": [{"id": "sub", "kind": "sub_workflow", "config": {"workflow_id": "wf_nope"}}],
}

READS_A_SECRET: dict[str, Any] = {
    "nodes": [
        {
            "id": "call",
            "kind": "http_request",
            "config": {
                "url": "https://example.com",
                "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
            },
        }
    ],
}

BROKEN_FLOW_KEY: dict[str, Any] = {
    "nodes": [{"id": "a", "kind": "noop"}],
    "settings": {"concurrency": {"limit": 2, "key": "input.customer +"}},
}
BAD_RATE_LIMIT: dict[str, Any] = {
    "nodes": [{"id": "a", "kind": "noop"}],
    "settings": {"rate_limit": {"limit": 0, "period_seconds": 60}},
}

MISTAKES = [
    (UNCLOSED_TEMPLATE, "invalid_template", "nodes[1].config.url"),
    (BROKEN_CONDITION, "invalid_expression", "nodes[0].config.cases[0].if"),
    (UNKNOWN_NODE, "unknown_node_reference", "nodes[1].config.output"),
    (NOT_UPSTREAM, "node_not_upstream", "nodes[0].config.output"),
    (UNKNOWN_CHILD, "unknown_workflow", "nodes[0].config.workflow_id"),
    (BROKEN_FLOW_KEY, "invalid_expression", "settings.concurrency.key"),
    (BAD_RATE_LIMIT, "invalid_type", "settings.rate_limit.limit"),
]
MISTAKE_IDS = [code for _, code, _ in MISTAKES]


async def stored_names(api: Api) -> list[str]:
    listed = await api.request("GET", "/api/v1/workflows")
    return [workflow["name"] for workflow in listed.json()["items"]]


@pytest.mark.parametrize(("definition", "code", "path"), MISTAKES, ids=MISTAKE_IDS)
async def test_creating_a_workflow_with_a_mistake_is_422_at_its_path(
    api: Api, definition: dict[str, Any], code: str, path: str
) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "bad", "definition": definition}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_definition"
    assert [(p["code"], p["path"]) for p in error["details"]] == [(code, path)]
    assert await stored_names(api) == []


async def test_a_syntax_error_names_its_line(api: Api) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "bad", "definition": UNCLOSED_TEMPLATE}
    )
    assert "line 1" in response.json()["error"]["details"][0]["message"]


@pytest.mark.parametrize(("definition", "code", "path"), MISTAKES, ids=MISTAKE_IDS)
async def test_updating_to_a_mistake_is_422_and_keeps_the_version(
    api: Api, definition: dict[str, Any], code: str, path: str
) -> None:
    workflow_id = await create(api, ECHO)
    response = await api.request(
        "PUT", f"/api/v1/workflows/{workflow_id}", json={"definition": definition}
    )
    assert response.status_code == 422, response.text
    assert [(p["code"], p["path"]) for p in response.json()["error"]["details"]] == [(code, path)]
    latest = await api.request("GET", f"/api/v1/workflows/{workflow_id}")
    assert latest.json()["version"] == 1


async def test_a_valid_workflow_is_still_201_with_no_warnings(api: Api) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "echo", "definition": ECHO}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["warnings"] == []
    assert body["version"] == 1 and body["name"] == "echo"


async def test_a_missing_secret_is_a_warning_on_create_and_update(api: Api) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "secret", "definition": READS_A_SECRET}
    )
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert [(w["code"], w["path"]) for w in warnings] == [
        ("unknown_secret", "nodes[0].config.headers.Authorization")
    ]
    assert "API_TOKEN" in warnings[0]["message"]

    added = await api.request(
        "POST", "/api/v1/secrets", json={"name": "API_TOKEN", "value": "a-token-value"}
    )
    assert added.status_code == 201, added.text
    workflow_id = response.json()["id"]
    updated = await api.request(
        "PUT", f"/api/v1/workflows/{workflow_id}", json={"definition": READS_A_SECRET}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["warnings"] == []
    # The same definition again makes no new version: the checks still ran, without warning.
    assert (updated.json()["version"], updated.json()["unchanged"]) == (1, True)


async def test_validate_answers_200_with_problems_and_stores_nothing(api: Api) -> None:
    document = {
        "nodes": [*UNKNOWN_NODE["nodes"], *READS_A_SECRET["nodes"]],
        "edges": UNKNOWN_NODE["edges"],
    }
    response = await api.request(
        "POST", "/api/v1/workflows/validate", "a_editor", json={"name": "x", "definition": document}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False
    assert [(p["code"], p["path"]) for p in body["problems"]] == [
        ("unknown_node_reference", "nodes[1].config.output")
    ]
    assert [(w["code"], w["path"]) for w in body["warnings"]] == [
        ("unknown_secret", "nodes[2].config.headers.Authorization")
    ]
    assert await stored_names(api) == []


async def test_validate_reports_shape_problems_and_passes_a_valid_workflow(api: Api) -> None:
    broken = {"nodes": [{"id": "a", "kind": "teleport"}]}
    response = await api.request(
        "POST", "/api/v1/workflows/validate", json={"name": "x", "definition": broken}
    )
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False
    assert response.json()["problems"][0]["path"] == "nodes[0].kind"

    fine = await api.request(
        "POST", "/api/v1/workflows/validate", json={"name": "x", "definition": ECHO}
    )
    assert fine.json() == {"valid": True, "problems": [], "warnings": []}
    assert await stored_names(api) == []


async def test_validate_needs_an_editor(api: Api) -> None:
    response = await api.request(
        "POST", "/api/v1/workflows/validate", "a_viewer", json={"name": "x", "definition": ECHO}
    )
    assert response.status_code == 403


async def test_a_sub_workflow_of_an_existing_workflow_saves(api: Api) -> None:
    child_id = await create(api, ECHO, "child")
    parent = {"nodes": [{"id": "sub", "kind": "sub_workflow", "config": {"workflow_id": child_id}}]}
    response = await api.request(
        "POST", "/api/v1/workflows", json={"name": "parent", "definition": parent}
    )
    assert response.status_code == 201, response.text
    other = await api.request(
        "POST", "/api/v1/workflows/validate", "b_admin", json={"name": "x", "definition": parent}
    )
    assert [p["code"] for p in other.json()["problems"]] == ["unknown_workflow"]
