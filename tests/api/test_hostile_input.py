"""Hostile input at the API: NUL characters, deep nesting, huge integers, crons that never
fire. Each is a 4xx with a stable code and the path of the value, never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from application.document_limits import MAX_NESTING
from tests.api.conftest import Api
from tests.api.workflows import ECHO, WAITS_FOR_GO

NUL = "\u0000"


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(levels - 1):
        value = [value]
    return [value] if levels else value


def deep_json(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def assert_refused(response: Any, path: str, code: str = "invalid_input") -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert [detail["path"] for detail in error["details"]] == [path], error


async def workflow(api: Api, definition: dict[str, Any] = ECHO, name: str = "wf") -> str:
    body = {"name": name, "definition": definition}
    response = await api.request("POST", "/api/v1/workflows", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def with_config(config: Any) -> dict[str, Any]:
    return {"nodes": [{"id": "a", "kind": "transform", "config": config}], "edges": []}


async def test_a_nul_character_anywhere_in_a_body_is_422_with_its_path(api: Api) -> None:
    workflow_id = await workflow(api)
    run = f"/api/v1/workflows/{workflow_id}/run"
    assert_refused(
        await api.request("POST", run, json={"input": {"names": ["ok", f"A{NUL}"]}}),
        "input.names[1]",
    )
    assert_refused(await api.request("POST", run, json={"input": {f"k{NUL}": 1}}), "input")
    named = {"name": f"wf{NUL}", "definition": ECHO}
    assert_refused(await api.request("POST", "/api/v1/workflows", json=named), "name")
    body = {"name": "nul-config", "definition": with_config({"output": {"x": f"{NUL}"}})}
    assert_refused(
        await api.request("POST", "/api/v1/workflows", json=body),
        "definition.nodes[0].config.output.x",
    )


async def test_a_nul_character_in_a_signal_payload_is_422(api: Api) -> None:
    workflow_id = await workflow(api, WAITS_FOR_GO)
    started = await api.request("POST", f"/api/v1/workflows/{workflow_id}/run", json={})
    execution_id = started.json()["execution_id"]
    signal = f"/api/v1/executions/{execution_id}/signals/go"
    assert_refused(await api.request("POST", signal, json={"payload": NUL}), "payload")


async def test_a_nul_character_in_a_path_or_query_value_is_422(api: Api) -> None:
    assert_refused(await api.request("GET", "/api/v1/workflows/wf%00x"), "workflow_id")
    assert_refused(await api.request("GET", "/api/v1/workflows?name=a%00b"), "name")


async def test_integers_beyond_64_bits_are_422_with_their_path(api: Api) -> None:
    workflow_id = await workflow(api)
    run = f"/api/v1/workflows/{workflow_id}/run"
    huge = 2**63
    assert_refused(await api.request("POST", run, json={"input": {"x": huge}}), "input.x")
    assert_refused(await api.request("POST", run, json={"input": {"x": -huge - 1}}), "input.x")
    assert (await api.request("POST", run, json={"input": {"x": huge - 1}})).status_code == 201
    digits = b'{"input": {"x": ' + b"9" * 5000 + b"}}"
    headers = {**api.auth(), "Content-Type": "application/json"}
    refused = await api.client.post(run, content=digits, headers=headers)
    assert refused.status_code == 400, refused.text  # msgspec stops at its own bound
    assert "out of range" in refused.json()["error"]["message"]
    version = f"/api/v1/workflows/{workflow_id}/versions/{huge}"
    assert_refused(await api.request("GET", version), "version")


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 1_000, 30_000])
async def test_a_body_nested_beyond_the_limit_is_422(api: Api, levels: int) -> None:
    workflow_id = await workflow(api)
    body = b'{"input": ' + deep_json(levels) + b"}"
    headers = {**api.auth(), "Content-Type": "application/json"}
    response = await api.client.post(
        f"/api/v1/workflows/{workflow_id}/run", content=body, headers=headers
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert f"{MAX_NESTING} levels" in error["message"]


async def test_a_definition_config_nested_beyond_the_limit_is_422(api: Api) -> None:
    body = {"name": "deep", "definition": with_config({"output": nested(400)})}
    response = await api.request("POST", "/api/v1/workflows", json=body)
    assert response.status_code == 422, response.text
    path = response.json()["error"]["details"][0]["path"]
    assert path.startswith("definition.nodes[0].config.output"), path


async def test_nesting_up_to_the_limit_is_accepted(api: Api) -> None:
    workflow_id = await workflow(api)
    run = f"/api/v1/workflows/{workflow_id}/run"
    # The body is one level: `input` may nest the rest.
    response = await api.request("POST", run, json={"input": nested(MAX_NESTING - 1)})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "cron",
    ["0 0 30 2 *", "0 0 31 4 *", "* * * * * * 2030", "0 0 1 1 * 2030", "@reboot"],
)
async def test_a_cron_that_never_fires_or_has_seven_fields_is_422(api: Api, cron: str) -> None:
    workflow_id = await workflow(api)
    body = {"workflow_id": workflow_id, "cron": cron}
    response = await api.request("POST", "/api/v1/schedules", json=body)
    assert_refused(response, "cron")


async def test_patching_in_a_cron_that_never_fires_is_422_and_changes_nothing(api: Api) -> None:
    workflow_id = await workflow(api)
    body = {"workflow_id": workflow_id, "cron": "0 9 * * *", "enabled": False}
    created = (await api.request("POST", "/api/v1/schedules", json=body)).json()
    path = f"/api/v1/schedules/{created['id']}"
    assert_refused(await api.request("PATCH", path, json={"cron": "0 0 30 2 *"}), "cron")
    enabled = await api.request("POST", f"{path}/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["cron"] == "0 9 * * *"
    assert enabled.json()["next_fire_at"] is not None


async def test_a_cron_with_seconds_still_works(api: Api) -> None:
    workflow_id = await workflow(api)
    body = {"workflow_id": workflow_id, "cron": "0 0 9 * * 30"}
    response = await api.request("POST", "/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("cron", ["@daily", "@hourly", "@weekly"])
async def test_the_usual_cron_shorthands_are_accepted(api: Api, cron: str) -> None:
    workflow_id = await workflow(api)
    response = await api.request(
        "POST", "/api/v1/schedules", json={"workflow_id": workflow_id, "cron": cron}
    )
    assert response.status_code == 201, response.text
    assert response.json()["next_fire_at"] is not None
