"""GET/PUT /api/v1/retention: any role reads the workspace's policy, admins set it, and a
value out of bounds is a 422 naming it."""

from __future__ import annotations

import pytest

from domain.retention import RetentionPolicy
from tests.api.conftest import Api

DEFAULTS = {
    "keep_finished_days": 30,
    "keep_failed_days": 30,
    "keep_succeeded_hours": None,
    "keep_audit_days": 365,
}
CHANGED = {
    "keep_finished_days": 14,
    "keep_failed_days": 60,
    "keep_succeeded_hours": 6,
    "keep_audit_days": 90,
}


@pytest.mark.parametrize("who", ["a_admin", "a_editor", "a_viewer"])
async def test_every_role_reads_the_defaults_before_any_policy_is_set(api: Api, who: str) -> None:
    response = await api.request("GET", "/api/v1/retention", who)

    assert response.status_code == 200
    assert response.json() == DEFAULTS


async def test_an_admin_sets_the_policy_and_every_role_of_the_workspace_reads_it_back(
    api: Api,
) -> None:
    response = await api.request("PUT", "/api/v1/retention", json=CHANGED)

    assert response.status_code == 200, response.text
    assert response.json() == CHANGED
    for who in ("a_admin", "a_viewer"):
        assert (await api.request("GET", "/api/v1/retention", who)).json() == CHANGED
    assert (await api.request("GET", "/api/v1/retention", "b_admin")).json() == DEFAULTS
    policies = api.runtime.storage.retention_policies
    workspaces = await policies.list_all()
    assert RetentionPolicy(14, 60, 6, 90) in workspaces.values()


async def test_a_put_replaces_the_whole_policy_so_left_out_fields_take_their_defaults(
    api: Api,
) -> None:
    await api.request("PUT", "/api/v1/retention", json=CHANGED)

    response = await api.request("PUT", "/api/v1/retention", json={"keep_failed_days": 7})

    assert response.json() == {**DEFAULTS, "keep_failed_days": 7}


@pytest.mark.parametrize("who", ["a_editor", "a_viewer"])
async def test_only_admins_change_the_policy(api: Api, who: str) -> None:
    response = await api.request("PUT", "/api/v1/retention", who, json=CHANGED)

    assert response.status_code == 403
    assert (await api.request("GET", "/api/v1/retention")).json() == DEFAULTS


async def test_without_a_token_the_policy_is_not_shown(api: Api) -> None:
    response = await api.client.get("/api/v1/retention")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"keep_finished_days": 0}, "keep_finished_days"),
        ({"keep_failed_days": 3651}, "keep_failed_days"),
        ({"keep_audit_days": 3}, "keep_audit_days"),
        ({"keep_finished_days": 1, "keep_succeeded_hours": 25}, "keep_succeeded_hours"),
        ({"keep_succeeded_hours": 0}, "keep_succeeded_hours"),
    ],
)
async def test_a_value_out_of_bounds_is_a_422_naming_it_and_changes_nothing(
    api: Api, body: dict[str, int], field: str
) -> None:
    response = await api.request("PUT", "/api/v1/retention", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_retention_policy"
    assert field in error["message"]
    assert [detail["path"] for detail in error["details"]] == [field]
    assert (await api.request("GET", "/api/v1/retention")).json() == DEFAULTS


async def test_every_bad_value_is_named_at_once(api: Api) -> None:
    body = {"keep_finished_days": -1, "keep_failed_days": 0, "keep_audit_days": 0}

    response = await api.request("PUT", "/api/v1/retention", json=body)

    paths = [detail["path"] for detail in response.json()["error"]["details"]]
    assert paths == ["keep_finished_days", "keep_failed_days", "keep_audit_days"]


async def test_an_unknown_field_or_a_wrong_type_is_refused(api: Api) -> None:
    unknown = await api.request("PUT", "/api/v1/retention", json={"keep_days": 3})
    wrong = await api.request("PUT", "/api/v1/retention", json={"keep_failed_days": "ten"})

    assert unknown.status_code == 400
    assert wrong.status_code == 400
