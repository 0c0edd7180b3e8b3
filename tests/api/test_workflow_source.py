"""A workflow's source over HTTP: the JSON or YAML text its author wrote is kept byte for
byte beside the normalised definition, and a save that changes nothing makes no version."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api
from tests.api.workflows import ECHO, WAITS_FOR_GO, create

COMMENTED_YAML = """\
# Doubles x, then stops.
nodes:
  - id: double   # the only real work
    kind: transform
    config:
      output: {x: "{{ input.x }}"}
  - id: done
    kind: noop

edges:
  - {from: double, to: done}   # flow style, on purpose
"""

JSON_SOURCE = '{"nodes": [{"id": "done", "kind": "noop"}],\n  "edges": []}\n'


async def post_source(api: Api, source: str, name: str = "wf") -> Any:
    return await api.request("POST", "/api/v1/workflows", json={"name": name, "source": source})


async def put(api: Api, workflow_id: str, **body: Any) -> Any:
    return await api.request("PUT", f"/api/v1/workflows/{workflow_id}", "a_editor", json=body)


async def versions(api: Api, workflow_id: str) -> list[int]:
    response = await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions")
    return [version["version"] for version in response.json()]


async def test_a_yaml_source_with_comments_round_trips_byte_for_byte(api: Api) -> None:
    created = await post_source(api, COMMENTED_YAML)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == COMMENTED_YAML
    workflow_id = created.json()["id"]

    body = (await api.request("GET", f"/api/v1/workflows/{workflow_id}", "a_viewer")).json()
    assert body["source"] == COMMENTED_YAML
    assert body["source_format"] == "yaml"
    # The definition the engine runs is the normalised one, read from the text.
    assert [node["id"] for node in body["definition"]["nodes"]] == ["double", "done"]
    assert body["definition"]["edges"][0]["from"] == "double"
    one = (await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions/1")).json()
    assert (one["source"], one["source_format"]) == (COMMENTED_YAML, "yaml")


async def test_a_json_source_is_kept_as_written(api: Api) -> None:
    created = await post_source(api, JSON_SOURCE)
    assert created.status_code == 201, created.text
    body = (await api.request("GET", f"/api/v1/workflows/{created.json()['id']}")).json()
    assert body["source"] == JSON_SOURCE
    assert body["source_format"] == "json"
    assert body["definition"]["nodes"][0]["id"] == "done"


async def test_a_version_saved_from_an_object_has_no_source(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    body = (await api.request("GET", f"/api/v1/workflows/{workflow_id}")).json()
    assert body["source"] is None
    assert body["source_format"] is None
    listed = (await api.request("GET", f"/api/v1/workflows/{workflow_id}/versions")).json()
    assert listed[0]["source"] is None


async def test_both_definition_and_source_is_422(api: Api) -> None:
    body = {"name": "both", "definition": ECHO, "source": JSON_SOURCE}
    response = await api.request("POST", "/api/v1/workflows", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "not both" in error["message"]
    workflow_id = await create(api, ECHO)
    updated = await put(api, workflow_id, definition=ECHO, source=JSON_SOURCE)
    assert updated.status_code == 422
    assert await versions(api, workflow_id) == [1]


async def test_neither_definition_nor_source_is_422(api: Api) -> None:
    response = await api.request("POST", "/api/v1/workflows", json={"name": "none"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "`definition`" in error["message"] and "`source`" in error["message"]
    workflow_id = await create(api, ECHO)
    updated = await put(api, workflow_id, description="only this")
    assert updated.status_code == 422


async def test_an_unreadable_source_is_422_naming_the_line(api: Api) -> None:
    response = await post_source(api, "nodes:\n  - id: a\n   kind: noop\n")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "not valid YAML" in error["message"] and "line 3" in error["message"]
    assert error["details"][0]["path"] == "source"


async def test_broken_json_is_refused_with_the_json_error(api: Api) -> None:
    response = await post_source(api, '{"nodes": [1,, 2]}')
    assert response.status_code == 422
    assert "not valid JSON (line 1" in response.json()["error"]["message"]


async def test_a_yaml_alias_is_refused(api: Api) -> None:
    response = await post_source(api, "base: &b {id: a}\nnodes: [*b]\nedges: []\n")
    assert response.status_code == 422
    assert "alias" in response.json()["error"]["message"]


async def test_a_source_read_but_invalid_lists_the_definition_problems(api: Api) -> None:
    response = await post_source(api, "nodes:\n  - id: a\n    kind: teleport\nedges: []\n")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_definition"
    assert "nodes[0].kind" in {problem["path"] for problem in error["details"]}


async def test_a_workflow_files_name_and_description_are_not_the_definition(api: Api) -> None:
    text = "name: from-file\ndescription: kept out\n" + COMMENTED_YAML
    created = await post_source(api, text, name="from-body")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "from-body"
    assert "name" not in body["definition"] and "description" not in body["definition"]
    assert body["source"] == text


async def test_an_unchanged_source_makes_no_version(api: Api) -> None:
    workflow_id = (await post_source(api, COMMENTED_YAML)).json()["id"]
    again = await put(api, workflow_id, source=COMMENTED_YAML)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["unchanged"] is True
    assert body["version"] == 1 and body["latest_version"] == 1
    assert body["source"] == COMMENTED_YAML
    assert await versions(api, workflow_id) == [1]


async def test_an_unchanged_object_makes_no_version(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    again = await put(api, workflow_id, definition=json.loads(json.dumps(ECHO)))
    assert again.status_code == 200
    assert again.json()["unchanged"] is True
    assert await versions(api, workflow_id) == [1]


async def test_a_changed_comment_is_a_new_version(api: Api) -> None:
    workflow_id = (await post_source(api, COMMENTED_YAML)).json()["id"]
    edited = COMMENTED_YAML.replace("# Doubles x, then stops.", "# Doubles x.")
    response = await put(api, workflow_id, source=edited)
    assert response.status_code == 200
    body = response.json()
    assert body["unchanged"] is False
    assert body["version"] == 2 and body["source"] == edited
    assert await versions(api, workflow_id) == [2, 1]
    first = (await api.request("GET", f"/api/v1/workflows/{workflow_id}?version=1")).json()
    assert first["source"] == COMMENTED_YAML


async def test_a_changed_definition_is_a_new_version(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await put(api, workflow_id, definition=WAITS_FOR_GO)
    assert response.json()["unchanged"] is False
    assert response.json()["version"] == 2
    assert await versions(api, workflow_id) == [2, 1]


async def test_the_same_document_from_a_source_is_a_new_version(api: Api) -> None:
    """Saved from an object first, the same definition written as text keeps its text."""
    workflow_id = (await post_source(api, COMMENTED_YAML)).json()["id"]
    as_object = (await api.request("GET", f"/api/v1/workflows/{workflow_id}")).json()
    response = await put(api, workflow_id, definition=as_object["definition"])
    assert response.json()["unchanged"] is False
    assert response.json()["source"] is None
    assert await versions(api, workflow_id) == [2, 1]


async def test_a_new_description_alone_is_kept_without_a_version(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await put(api, workflow_id, definition=ECHO, description="now described")
    assert response.status_code == 200
    body = response.json()
    assert body["unchanged"] is True
    assert body["description"] == "now described"
    assert await versions(api, workflow_id) == [1]
    found = (await api.request("GET", f"/api/v1/workflows/{workflow_id}")).json()
    assert found["description"] == "now described"


async def test_validate_reads_a_source(api: Api) -> None:
    body = {"name": "checked", "source": "nodes:\n  - {id: a, kind: teleport}\nedges: []\n"}
    response = await api.request("POST", "/api/v1/workflows/validate", json=body)
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert "nodes[0].kind" in {problem["path"] for problem in response.json()["problems"]}
