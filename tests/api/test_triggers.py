"""Managing webhook triggers over the API: roles, secrets shown once, updates, errors."""

from __future__ import annotations

import base64

from tests.api.conftest import Api
from tests.api.triggers import create_trigger, hook
from tests.api.workflows import ECHO, create


async def test_a_trigger_has_an_unguessable_url_and_its_made_secret_is_shown_once(
    api: Api,
) -> None:
    workflow_id = await create(api, ECHO)
    created = await create_trigger(api, workflow_id, name="pushes", verification="github")
    token = created["id"].removeprefix("trg_")
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert created["url"].endswith(f"/hooks/{created['id']}")
    assert created["secret"].startswith("whsec_") and created["has_secret"] is True
    assert created["delivery_id_header"] == "x-github-delivery"
    shown = await api.request("GET", f"/api/v1/triggers/{created['id']}", "a_viewer")
    assert shown.status_code == 200
    assert "secret" not in shown.json() and shown.json()["has_secret"] is True
    given = await create_trigger(api, workflow_id, verification="stripe", secret="whsec_mine")
    assert given["secret"] is None and given["delivery_id_path"] == "id"
    other = await create_trigger(api, workflow_id)
    assert other["id"] != created["id"] and other["has_secret"] is False


async def test_triggers_are_listed_by_workflow_and_hidden_from_other_workspaces(api: Api) -> None:
    first = await create(api, ECHO, name="one")
    second = await create(api, ECHO, name="two")
    mine = await create_trigger(api, first)
    await create_trigger(api, second)
    listed = await api.request("GET", f"/api/v1/triggers?workflow_id={first}", "a_viewer")
    assert [t["id"] for t in listed.json()] == [mine["id"]]
    everything = await api.request("GET", "/api/v1/triggers", "a_viewer")
    assert len(everything.json()) == 2
    elsewhere = await api.request("GET", f"/api/v1/triggers/{mine['id']}", "b_admin")
    assert elsewhere.status_code == 404
    assert (await api.request("GET", "/api/v1/triggers", "b_admin")).json() == []


async def test_a_viewer_cannot_create_change_or_delete_a_trigger(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id)
    path = f"/api/v1/triggers/{trigger['id']}"
    attempts = [
        await api.request(
            "POST", "/api/v1/triggers", "a_viewer", json={"workflow_id": workflow_id}
        ),
        await api.request("PATCH", path, "a_viewer", json={"name": "x"}),
        await api.request("POST", f"{path}/disable", "a_viewer"),
        await api.request("DELETE", path, "a_viewer"),
    ]
    assert [r.status_code for r in attempts] == [403] * 4
    assert {r.json()["error"]["code"] for r in attempts} == {"forbidden"}


async def test_an_update_changes_only_what_it_names_and_can_replace_the_secret(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, name="form", headers=["X-Source"])
    path = f"/api/v1/triggers/{trigger['id']}"
    changed = await api.request("PATCH", path, json={"verification": "header_secret"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "form" and body["headers"] == ["x-source"]
    assert body["verify_header"] == "x-webhook-secret" and body["secret"].startswith("whsec_")
    again = await api.request("PATCH", path, json={"secret": "s3cret", "name": "renamed"})
    assert again.json()["secret"] is None and again.json()["name"] == "renamed"
    response = await hook(api, trigger, b"{}", headers={"X-Webhook-Secret": "s3cret"})
    assert response.status_code == 202, response.text
    disabled = await api.request("POST", f"{path}/disable")
    assert disabled.json()["enabled"] is False
    enabled = await api.request("POST", f"{path}/enable")
    assert enabled.json()["enabled"] is True


async def test_bad_settings_are_refused_with_stable_codes(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    cases = [
        ({"verification": "md5"}, 400, "invalid_request"),
        ({"wait_seconds": 31}, 400, "invalid_request"),
        ({"max_body_bytes": 0}, 400, "invalid_request"),
        ({"headers": ["bad header"]}, 422, "invalid_input"),
        ({"verify_header": "no:colons"}, 422, "invalid_input"),
        ({"respond": "wait", "respond_node": "nowhere"}, 422, "invalid_input"),
        ({"input": {"x": "{{ body.x "}}, 422, "invalid_input"),
        ({"input": "{{ secrets.TOKEN }}"}, 422, "invalid_input"),
        ({"delivery_id_path": "a..b"}, 422, "invalid_input"),
        ({"delivery_id_header": "x-id", "delivery_id_path": "id"}, 422, "invalid_input"),
        ({"unknown": 1}, 400, "invalid_request"),
    ]
    for settings, status, code in cases:
        body = {"workflow_id": workflow_id, **settings}
        response = await api.request("POST", "/api/v1/triggers", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), settings
    missing = await api.request("POST", "/api/v1/triggers", json={"workflow_id": "wf_nope"})
    assert missing.status_code == 404
    assert (await api.request("GET", "/api/v1/triggers")).json() == []


async def test_a_trigger_of_an_archived_workflow_cannot_be_created(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    await api.request("POST", f"/api/v1/workflows/{workflow_id}/archive")
    response = await api.request("POST", "/api/v1/triggers", json={"workflow_id": workflow_id})
    assert response.status_code == 404
