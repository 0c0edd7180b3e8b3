"""Workflow definitions the API tests use."""

from __future__ import annotations

from typing import Any

ECHO: dict[str, Any] = {
    "nodes": [
        {"id": "double", "kind": "transform", "config": {"output": {"x": "{{ input.x }}"}}},
        {"id": "done", "kind": "noop"},
    ],
    "edges": [{"from": "double", "to": "done"}],
}

WAITS_FOR_GO: dict[str, Any] = {
    "nodes": [
        {"id": "wait", "kind": "wait_for_signal", "config": {"signal": "go"}},
        {"id": "after", "kind": "transform", "config": {"output": "{{ nodes.wait.output }}"}},
    ],
    "edges": [{"from": "wait", "to": "after"}],
}

# Fails (without retrying) when input.flag is false: no case matches and there is no default.
CHOOSES: dict[str, Any] = {
    "nodes": [
        {
            "id": "pick",
            "kind": "condition",
            "config": {"cases": [{"when": "yes", "if": "input.flag"}]},
        },
        {"id": "then", "kind": "noop"},
    ],
    "edges": [{"from": "pick", "to": "then", "when": "yes"}],
}

BROKEN: dict[str, Any] = {
    "nodes": [
        {"id": "a", "kind": "teleport"},
        {"id": "a", "kind": "noop"},
    ],
    "edges": [{"from": "a", "to": "nowhere"}],
}


async def create(
    api: Any, definition: dict[str, Any], name: str = "wf", who: str = "a_admin"
) -> str:
    response = await api.request(
        "POST", "/api/v1/workflows", who, json={"name": name, "definition": definition}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run(api: Any, workflow_id: str, input: Any = None, who: str = "a_admin") -> str:
    response = await api.request(
        "POST", f"/api/v1/workflows/{workflow_id}/run", who, json={"input": input}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["execution_id"])
