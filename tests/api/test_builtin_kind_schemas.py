"""`GET /api/v1/node-kinds` publishes each built-in kind's config schema and an example, and
the API's save-time checks take every example config."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

BUILTIN = {
    "http_request",
    "ai_prompt",
    "transform",
    "condition",
    "delay",
    "wait_for_signal",
    "sub_workflow",
    "for_each",
    "noop",
}


async def builtin_kinds(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.client.get("/api/v1/node-kinds", headers=api.auth("a_viewer"))
    assert response.status_code == 200
    return {kind["kind"]: kind for kind in response.json() if kind["builtin"]}


async def test_built_in_kinds_come_with_a_config_schema_and_an_example(api: Api) -> None:
    kinds = await builtin_kinds(api)

    assert set(kinds) == BUILTIN
    for name, kind in kinds.items():
        schema = kind["config_schema"]
        assert schema["type"] == "object" and schema["additionalProperties"] is False, name
        assert set(kind["example"]) <= set(schema["properties"]), name
        assert set(schema.get("required", [])) <= set(kind["example"]), name
    http = kinds["http_request"]["config_schema"]
    assert http["required"] == ["url"]
    assert http["properties"]["method"]["default"] == "GET"
    parallelism = kinds["for_each"]["config_schema"]["properties"]["parallelism"]
    integer, template, null = parallelism["anyOf"]
    assert (integer["minimum"], integer["maximum"]) == (1, 1000)
    assert template["type"] == "string" and null == {"type": "null"}
    assert kinds["noop"]["config_schema"]["properties"] == {}


async def test_every_example_config_passes_the_config_checks_at_save(api: Api) -> None:
    kinds = await builtin_kinds(api)
    nodes = [
        {"id": name, "kind": name, "config": kind["example"]}
        for name, kind in sorted(kinds.items())
    ]

    response = await api.client.post(
        "/api/v1/workflows/validate",
        headers=api.auth(),
        json={"name": "examples", "definition": {"nodes": nodes}},
    )

    # The examples read nodes and workflows this document lacks: only their configs count.
    assert response.status_code == 200
    found = response.json()["problems"] + response.json()["warnings"]
    assert [p for p in found if p["code"] in ("invalid_config", "unknown_field")] == []
