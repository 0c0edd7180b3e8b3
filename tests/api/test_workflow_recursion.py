"""A workflow that starts itself through `sub_workflow` or `for_each` nodes, directly or
through other workflows, is refused at save (`recursive_workflow`) unless its
`settings.allow_recursion` is true; over HTTP, on create, update and validate."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.workflows import ECHO, create

ALLOWED: dict[str, Any] = {"allow_recursion": True}


def starts(
    workflow: str, key: str = "workflow", settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A noop, then a sub_workflow node starting `workflow`."""
    document: dict[str, Any] = {
        "nodes": [
            {"id": "first", "kind": "noop"},
            {"id": "child", "kind": "sub_workflow", "config": {key: workflow}},
        ],
        "edges": [{"from": "first", "to": "child"}],
    }
    if settings:
        document["settings"] = settings
    return document


def for_each_of(workflow: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "nodes": [
            {
                "id": "each",
                "kind": "for_each",
                "config": {"items": [1, 2], "workflow": workflow, "input": {"n": "{{ item }}"}},
            }
        ]
    }
    if settings:
        document["settings"] = settings
    return document


async def post(api: Api, name: str, definition: dict[str, Any]) -> Any:
    return await api.request(
        "POST", "/api/v1/workflows", json={"name": name, "definition": definition}
    )


async def put(api: Api, workflow_id: str, definition: dict[str, Any]) -> Any:
    return await api.request(
        "PUT", f"/api/v1/workflows/{workflow_id}", json={"definition": definition}
    )


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_definition"
    return [(p["code"], p["path"]) for p in error["details"]]


def message(response: Any) -> str:
    return str(response.json()["error"]["details"][0]["message"])


async def latest_version(api: Api, workflow_id: str) -> int:
    found = await api.request("GET", f"/api/v1/workflows/{workflow_id}")
    return int(found.json()["version"])


async def stored_names(api: Api) -> list[str]:
    listed = await api.request("GET", "/api/v1/workflows")
    return sorted(workflow["name"] for workflow in listed.json()["items"])


async def test_creating_a_workflow_that_starts_itself_by_name_is_refused(api: Api) -> None:
    response = await post(api, "report", starts("report"))

    # Not `unknown_workflow`: the name being saved is the workflow's own.
    assert problems(response) == [("recursive_workflow", "nodes[1].config.workflow")]
    text = message(response)
    assert "report -> report" in text
    assert "settings.allow_recursion: true" in text and "TREADLE_MAX_DEPTH" in text
    assert await stored_names(api) == []


async def test_allow_recursion_lets_it_start_itself_by_name(api: Api) -> None:
    response = await post(api, "report", starts("report", settings=ALLOWED))

    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []
    found = await api.request("GET", f"/api/v1/workflows/{response.json()['id']}")
    assert found.json()["definition"]["settings"]["allow_recursion"] is True


async def test_updating_a_workflow_to_start_itself_by_id_is_refused(api: Api) -> None:
    workflow_id = await create(api, ECHO, "report")

    response = await put(api, workflow_id, starts(workflow_id, key="workflow_id"))

    assert problems(response) == [("recursive_workflow", "nodes[1].config.workflow_id")]
    assert "report -> report" in message(response)
    assert await latest_version(api, workflow_id) == 1

    allowed = await put(api, workflow_id, starts(workflow_id, key="workflow_id", settings=ALLOWED))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["version"] == 2


async def test_updating_a_workflow_to_start_itself_by_name_is_refused(api: Api) -> None:
    workflow_id = await create(api, ECHO, "report")

    response = await put(api, workflow_id, for_each_of("report"))

    assert problems(response) == [("recursive_workflow", "nodes[0].config.workflow")]
    assert await latest_version(api, workflow_id) == 1


async def test_the_update_that_closes_a_cycle_of_two_is_refused(api: Api) -> None:
    summarise = await create(api, ECHO, "summarise")
    report = await create(api, starts(summarise, key="workflow_id"), "report")

    response = await put(api, summarise, for_each_of("report"))

    assert problems(response) == [("recursive_workflow", "nodes[0].config.workflow")]
    assert "summarise -> report -> summarise" in message(response)
    assert await latest_version(api, summarise) == 1

    # The other way round, from the workflow that already starts the other one.
    closing = await put(api, report, starts("summarise"))
    assert closing.status_code == 200, closing.text  # summarise starts nothing yet

    allowed = await put(api, summarise, for_each_of(report, settings=ALLOWED))
    assert allowed.status_code == 200, allowed.text
    again = await put(api, report, starts("summarise"))
    assert problems(again) == [("recursive_workflow", "nodes[1].config.workflow")]
    assert "report -> summarise -> report" in message(again)


async def test_a_cycle_through_three_workflows_is_shown_whole(api: Api) -> None:
    c = await create(api, ECHO, "c")
    await create(api, starts("c"), "b")
    await create(api, starts("b"), "a")

    response = await put(api, c, starts("a"))

    assert problems(response) == [("recursive_workflow", "nodes[1].config.workflow")]
    assert "c -> a -> b -> c" in message(response)


async def test_a_chain_and_a_diamond_without_a_cycle_save(api: Api) -> None:
    c = await create(api, ECHO, "c")
    await create(api, starts("c"), "b")
    both = {
        "nodes": [
            {"id": "to_b", "kind": "sub_workflow", "config": {"workflow": "b"}},
            {"id": "to_c", "kind": "for_each", "config": {"items": [1], "workflow": c}},
        ]
    }
    response = await post(api, "a", both)
    assert response.status_code == 201, response.text

    # c starting another workflow that leads nowhere back is no cycle either.
    await create(api, ECHO, "leaf")
    updated = await put(api, c, starts("leaf"))
    assert updated.status_code == 200, updated.text


async def test_a_template_names_its_workflow_only_at_run_time(api: Api) -> None:
    # Not even one that renders to the workflow's own name is followed.
    response = await post(api, "dynamic", starts("{{ 'dynamic' }}"))
    assert response.status_code == 201, response.text
    workflow_id = response.json()["id"]
    for reference in ("{{ input.which }}", "{% if true %}dynamic{% endif %}"):
        updated = await put(api, workflow_id, for_each_of(reference))
        assert updated.status_code == 200, (reference, updated.text)


async def test_a_pinned_version_is_followed_rather_than_the_latest(api: Api) -> None:
    b = await create(api, ECHO, "b")
    pinned = {"id": "s", "kind": "sub_workflow", "config": {"workflow": b, "version": 1}}
    a = await create(api, {"nodes": [pinned]}, "a")

    # b's version 2 starts a, which starts b's version 1, which starts nothing.
    response = await put(api, b, starts(a))
    assert response.status_code == 200, response.text

    # a starting b's latest version (2, which starts a) closes the cycle.
    closing = await put(api, a, starts(b))
    assert problems(closing) == [("recursive_workflow", "nodes[1].config.workflow")]
    assert "a -> b -> a" in message(closing)


async def test_validate_reports_the_cycle_and_stores_nothing(api: Api) -> None:
    response = await api.request(
        "POST",
        "/api/v1/workflows/validate",
        json={"name": "report", "definition": starts("report")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False
    assert [(p["code"], p["path"]) for p in body["problems"]] == [
        ("recursive_workflow", "nodes[1].config.workflow")
    ]
    allowed = await api.request(
        "POST",
        "/api/v1/workflows/validate",
        json={"name": "report", "definition": starts("report", settings=ALLOWED)},
    )
    assert allowed.json() == {"valid": True, "problems": [], "warnings": []}
    assert await stored_names(api) == []


async def test_allow_recursion_must_be_true_or_false(api: Api) -> None:
    response = await post(api, "report", starts("report", settings={"allow_recursion": "yes"}))

    assert ("invalid_type", "settings.allow_recursion") in problems(response)
