"""Schedules, secrets, tokens and the caller's workspace over HTTP."""

from __future__ import annotations

from tests.api.conftest import Api, cipher
from tests.api.workflows import ECHO, create


async def test_schedule_crud_and_next_fire_time(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    created = await api.request(
        "POST",
        "/api/v1/schedules",
        "a_editor",
        json={"workflow_id": workflow_id, "cron": "0 9 * * *", "timezone": "Europe/Paris"},
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_fire_at"] is not None
    path = f"/api/v1/schedules/{schedule['id']}"
    changed = await api.request(
        "PATCH", path, "a_editor", json={"cron": "*/5 * * * *", "input": {"x": 1}}
    )
    assert changed.json()["cron"] == "*/5 * * * *"
    assert changed.json()["input"] == {"x": 1}
    assert changed.json()["timezone"] == "Europe/Paris"
    assert changed.json()["next_fire_at"] != schedule["next_fire_at"]
    disabled = await api.request("POST", f"{path}/disable", "a_editor")
    assert (disabled.json()["enabled"], disabled.json()["next_fire_at"]) == (False, None)
    enabled = await api.request("POST", f"{path}/enable", "a_editor")
    assert enabled.json()["enabled"] is True and enabled.json()["next_fire_at"] is not None
    listed = await api.request("GET", f"/api/v1/schedules?workflow_id={workflow_id}", "a_viewer")
    assert [s["id"] for s in listed.json()] == [schedule["id"]]
    assert (await api.request("DELETE", path, "a_editor")).status_code == 204
    assert (await api.request("GET", path)).status_code == 404


async def test_a_bad_cron_or_time_zone_is_422_naming_the_field(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    for field, body in (
        ("cron", {"cron": "every tuesday"}),
        ("timezone", {"cron": "* * * * *", "timezone": "Mars/Olympus"}),
    ):
        response = await api.request(
            "POST", "/api/v1/schedules", json={"workflow_id": workflow_id, **body}
        )
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["path"] == field


async def test_secret_values_are_stored_encrypted_and_never_returned(api: Api) -> None:
    created = await api.request(
        "POST", "/api/v1/secrets", json={"name": "API_KEY", "value": "hunter2-value"}
    )
    assert created.status_code == 201
    assert "hunter2" not in created.text
    duplicate = await api.request("POST", "/api/v1/secrets", json={"name": "API_KEY", "value": "x"})
    assert duplicate.status_code == 409
    rotated = await api.request("PUT", "/api/v1/secrets/API_KEY", json={"value": "rotated-value"})
    assert rotated.status_code == 200
    listed = await api.request("GET", "/api/v1/secrets")
    assert listed.json()[0]["name"] == "API_KEY"
    assert "value" not in listed.json()[0] and "rotated" not in listed.text
    store = api.store
    assert store is not None
    stored = next(iter(store.secrets.values()))
    assert b"rotated-value" not in stored.ciphertext
    assert cipher().decrypt(stored.ciphertext) == "rotated-value"
    assert (await api.request("DELETE", "/api/v1/secrets/API_KEY")).status_code == 204
    assert (await api.request("DELETE", "/api/v1/secrets/API_KEY")).status_code == 404
    assert (
        await api.request("PUT", "/api/v1/secrets/NOPE", json={"value": "v"})
    ).status_code == 404


async def test_a_bad_secret_name_is_422(api: Api) -> None:
    response = await api.request("POST", "/api/v1/secrets", json={"name": "1-bad", "value": "v"})
    assert response.status_code == 422


async def test_a_token_is_shown_once_works_and_stops_working_when_revoked(api: Api) -> None:
    created = await api.request("POST", "/api/v1/tokens", json={"name": "ci", "role": "viewer"})
    assert created.status_code == 201
    token = created.json()["token"]
    listed = await api.request("GET", "/api/v1/tokens")
    assert token not in listed.text
    assert "ci" in [t["name"] for t in listed.json()]
    me = await api.client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "viewer" and me.json()["name"] == "workspace-a"
    revoked = await api.request("DELETE", f"/api/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    after = await api.client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "unauthenticated"


async def test_a_wrong_role_in_a_token_request_is_400(api: Api) -> None:
    response = await api.request("POST", "/api/v1/tokens", json={"name": "x", "role": "owner"})
    assert response.status_code == 400
