"""The audit log over the API: every change recorded once, with its token, in the change's
own transaction; read by admins only, within their workspace; never a secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.memory.repositories.audit import MemoryAudit
from application.audit import AuditEntry
from tests.api.conftest import Api
from tests.api.triggers import create_trigger, hook
from tests.api.workflows import CHOOSES, ECHO, WAITS_FOR_GO, create, run

AUDIT = "/api/v1/audit"


async def token_ids(api: Api, who: str = "a_admin") -> dict[str, str]:
    """The workspace's token ids by name (the fixture names each token after its role)."""
    listed = await api.request("GET", "/api/v1/tokens", who)
    return {token["name"]: token["id"] for token in listed.json()}


async def entries(api: Api, who: str = "a_admin", **where: Any) -> list[dict[str, Any]]:
    response = await api.request("GET", AUDIT, who, params={"limit": 200, **where})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def only(api: Api, action: str, **where: Any) -> dict[str, Any]:
    """The one entry of `action` (matching `where`): there must be exactly one."""
    found = await entries(api, action=action, **where)
    assert len(found) == 1, (action, found)
    return found[0]


async def test_the_audit_log_answers_who_cancelled_an_execution(api: Api) -> None:
    workflow_id = await create(api, WAITS_FOR_GO)
    execution_id = await run(api, workflow_id)
    cancelled = await api.request("POST", f"/api/v1/executions/{execution_id}/cancel", "a_editor")
    assert cancelled.status_code == 202

    found = await entries(api, action="execution.cancelled", object_id=execution_id)

    ids = await token_ids(api)
    assert [(e["actor"]["kind"], e["actor"]["id"], e["actor"]["name"]) for e in found] == [
        ("token", ids["editor"], "editor")
    ]
    assert found[0]["object_type"] == "execution"


async def test_each_execution_action_records_one_row_with_the_token_that_made_it(api: Api) -> None:
    ids = await token_ids(api)
    waiting = await create(api, WAITS_FOR_GO, name="waits", who="a_editor")
    execution_id = await run(api, waiting, who="a_editor")
    signalled = await api.request(
        "POST", f"/api/v1/executions/{execution_id}/signals/go", "a_admin", json={"ok": 1}
    )
    assert signalled.status_code == 202
    failing = await create(api, CHOOSES, name="fails")
    failed_id = await run(api, failing, {"flag": False})
    await api.drain()
    retried = await api.request("POST", f"/api/v1/executions/{failed_id}/retry", "a_editor")
    assert retried.status_code == 202
    rerun = await api.request("POST", f"/api/v1/executions/{failed_id}/rerun", "a_editor")
    assert rerun.status_code == 201

    started = await only(api, "run.started", object_id=execution_id)
    assert started["actor"] == {"kind": "token", "id": ids["editor"], "name": "editor"}
    assert started["details"] == {"workflow_id": waiting, "version": 1}
    signal = await only(api, "signal.sent", object_id=execution_id)
    assert signal["actor"]["id"] == ids["admin"]
    assert signal["details"]["name"] == "go" and signal["details"]["signal_id"].startswith("sig")
    assert (await only(api, "execution.retried"))["object_id"] == failed_id
    again = await only(api, "execution.rerun")
    assert again["object_id"] == rerun.json()["id"]
    assert again["details"]["rerun_of"] == failed_id
    created = await only(api, "workflow.created", object_id=waiting)
    assert created["actor"]["name"] == "editor" and created["details"]["name"] == "waits"


async def test_each_catalogue_change_records_one_row_with_its_action_and_object(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    changed = ECHO | {"nodes": [*ECHO["nodes"], {"id": "extra", "kind": "noop"}]}
    saved = await api.request(
        "PUT", f"/api/v1/workflows/{workflow_id}", json={"definition": changed}
    )
    assert saved.status_code == 200, saved.text
    schedule = await api.request(
        "POST", "/api/v1/schedules", json={"workflow_id": workflow_id, "cron": "0 * * * *"}
    )
    schedule_id = schedule.json()["id"]
    await api.request("PATCH", f"/api/v1/schedules/{schedule_id}", json={"cron": "5 * * * *"})
    await api.request("POST", f"/api/v1/schedules/{schedule_id}/disable")
    await api.request("POST", f"/api/v1/schedules/{schedule_id}/enable")
    await api.request("DELETE", f"/api/v1/schedules/{schedule_id}")
    trigger = await create_trigger(api, workflow_id, name="pushes")
    path = f"/api/v1/triggers/{trigger['id']}"
    await api.request("PATCH", path, json={"rate_limit": 5.0})
    await api.request("POST", f"{path}/disable")
    await api.request("POST", f"{path}/enable")
    await api.request("DELETE", path)
    bulk = await api.request(
        "POST", f"/api/v1/workflows/{workflow_id}/runs", json={"runs": [{}, {}, {}]}
    )
    assert bulk.status_code == 201
    await api.request("POST", f"/api/v1/workflows/{workflow_id}/archive")

    assert (await only(api, "workflow.updated"))["details"]["version"] == 2
    assert (await only(api, "workflow.archived"))["object_id"] == workflow_id
    for action in ("created", "updated", "disabled", "enabled", "deleted"):
        entry = await only(api, f"schedule.{action}")
        assert (entry["object_type"], entry["object_id"]) == ("schedule", schedule_id)
    assert (await only(api, "schedule.updated"))["details"]["changed"] == ["cron"]
    for action in ("created", "updated", "disabled", "enabled", "deleted"):
        entry = await only(api, f"trigger.{action}")
        assert (entry["object_type"], entry["object_id"]) == ("trigger", trigger["id"])
    many = await only(api, "runs.started")
    assert many["object_id"] == workflow_id and many["details"]["count"] == 3
    assert sorted(many["details"]["execution_ids"]) == sorted(
        r["execution_id"] for r in bulk.json()["runs"]
    )


async def test_secrets_and_tokens_are_recorded_by_name(api: Api) -> None:
    ids = await token_ids(api)
    await api.request("POST", "/api/v1/secrets", json={"name": "API_KEY", "value": "v1"})
    await api.request("PUT", "/api/v1/secrets/API_KEY", json={"value": "v2"})
    await api.request("DELETE", "/api/v1/secrets/API_KEY")
    made = await api.request("POST", "/api/v1/tokens", json={"name": "ci", "role": "editor"})
    await api.request("DELETE", f"/api/v1/tokens/{made.json()['id']}")

    for action in ("created", "rotated", "deleted"):
        entry = await only(api, f"secret.{action}")
        assert (entry["object_type"], entry["object_id"]) == ("secret", "API_KEY")
        assert entry["actor"]["id"] == ids["admin"]
    assert (await only(api, "token.created", object_id=made.json()["id"]))["details"] == {
        "name": "ci",
        "role": "editor",
    }
    assert (await only(api, "token.revoked"))["details"] == {"name": "ci"}


async def test_a_run_a_webhook_started_is_recorded_with_the_system_as_its_actor(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, name="pushes")
    answered = await hook(api, trigger, b'{"x": 1}', headers={"Content-Type": "application/json"})
    assert answered.status_code == 202, answered.text

    entry = await only(api, "run.started", object_id=answered.json()["execution_id"])

    assert entry["actor"] == {"kind": "system", "id": trigger["id"], "name": "webhook pushes"}


async def test_a_refused_change_records_nothing(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    execution_id = await run(api, workflow_id)
    await api.drain()
    before = await entries(api)
    refused = [
        await api.request("POST", f"/api/v1/executions/{execution_id}/cancel"),
        await api.request("POST", "/api/v1/workflows", json={"name": "wf", "definition": ECHO}),
        await api.request("DELETE", "/api/v1/secrets/NOPE"),
        await api.request("POST", f"/api/v1/workflows/{workflow_id}/run", "a_viewer", json={}),
    ]
    assert [r.status_code for r in refused] == [409, 409, 404, 403]
    assert await entries(api) == before


async def test_a_change_whose_audit_row_fails_does_not_land(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(self: MemoryAudit, entry: AuditEntry) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(MemoryAudit, "add", refuse)
    answered = await api.request("POST", "/api/v1/secrets", json={"name": "KEPT", "value": "v"})
    assert answered.status_code == 500
    monkeypatch.undo()

    listed = await api.request("GET", "/api/v1/secrets")
    assert [s["name"] for s in listed.json()] == []
    assert await entries(api, action="secret.created") == []


async def test_only_admins_read_the_audit_log(api: Api) -> None:
    for who in ("a_editor", "a_viewer"):
        response = await api.request("GET", AUDIT, who)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert (await api.request("GET", AUDIT, "a_admin")).status_code == 200


async def test_another_workspace_sees_none_of_the_entries(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    execution_id = await run(api, workflow_id)
    await api.request("POST", f"/api/v1/executions/{execution_id}/cancel")
    mine = await entries(api)
    assert {"workflow.created", "run.started", "execution.cancelled"} <= {e["action"] for e in mine}

    theirs = await entries(api, "b_admin")

    assert {e["id"] for e in theirs}.isdisjoint({e["id"] for e in mine})
    assert not {workflow_id, execution_id} & {e["object_id"] for e in theirs}
    assert await entries(api, "b_admin", object_id=execution_id) == []


async def test_pages_come_newest_first_and_filters_narrow_them(api: Api) -> None:
    for number in range(5):
        await create(api, ECHO, name=f"wf{number}")
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"action": "workflow.created", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.request("GET", AUDIT, params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["details"]["name"] for e in seen] == ["wf4", "wf3", "wf2", "wf1", "wf0"]
    newest = seen[0]["at"]
    assert [e["details"]["name"] for e in await entries(api, since=newest)] == ["wf4"]
    assert len(await entries(api, action="workflow.created", until=newest)) == 4
    ids = await token_ids(api)
    assert len(await entries(api, actor_id=ids["admin"], object_type="workflow")) == 5
    assert await entries(api, actor_id=ids["viewer"]) == []
    bad = await api.request("GET", AUDIT, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400


async def test_no_secret_token_value_or_run_input_appears_in_any_audit_row(api: Api) -> None:
    marker = "zz-secret-marker-41"
    workflow_id = await create(api, WAITS_FOR_GO)
    await api.request("POST", "/api/v1/secrets", json={"name": "S", "value": marker + "-v1"})
    await api.request("PUT", "/api/v1/secrets/S", json={"value": marker + "-v2"})
    token = (
        await api.request("POST", "/api/v1/tokens", json={"name": "t", "role": "viewer"})
    ).json()
    trigger = await create_trigger(
        api, workflow_id, verification="github", secret=marker + "-whsec"
    )
    await api.request("PATCH", f"/api/v1/triggers/{trigger['id']}", json={"secret": marker + "-2"})
    execution_id = await run(api, workflow_id, {"password": marker + "-input"})
    await api.request(
        "POST", f"/api/v1/executions/{execution_id}/signals/go", json={"pin": marker + "-signal"}
    )
    await api.request(
        "POST",
        "/api/v1/schedules",
        json={"workflow_id": workflow_id, "cron": "0 * * * *", "input": {"k": marker + "-sch"}},
    )
    await api.request(
        "POST", f"/api/v1/workflows/{workflow_id}/runs", json={"runs": [{"input": marker}]}
    )

    listed = json.dumps(await entries(api))
    assert api.store is not None
    stored = repr(api.store.audit)

    assert len(api.store.audit) >= 10
    for text in (listed, stored):
        assert marker not in text
        assert token["token"] not in text
        assert api.tokens["a_admin"] not in text
