"""Runs and executions over HTTP, with the worker drained in this process."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.workflows import CHOOSES, ECHO, WAITS_FOR_GO, create, run


async def test_run_then_drain_completes_with_node_outputs(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    execution_id = await run(api, workflow_id, {"x": 21}, who="a_editor")
    pending = await api.request("GET", f"/api/v1/executions/{execution_id}", "a_viewer")
    assert pending.json()["status"] == "pending"
    await api.drain()
    response = await api.request("GET", f"/api/v1/executions/{execution_id}", "a_viewer")
    body = response.json()
    assert body["status"] == "completed"
    runs = {run["node_id"]: run for run in body["node_runs"]}
    assert [r["node_id"] for r in body["node_runs"]] == ["double", "done"]
    assert runs["double"]["output"] == {"x": 21}
    assert runs["double"]["attempt"] == 1
    assert runs["double"]["started_at"] is not None


async def test_the_same_idempotency_key_returns_the_same_execution_with_200(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    path = f"/api/v1/workflows/{workflow_id}/run"
    headers = {**api.auth(), "Idempotency-Key": "order-1"}
    first = await api.client.post(path, json={"input": {"x": 1}}, headers=headers)
    again = await api.client.post(path, json={"input": {"x": 1}}, headers=headers)
    other = await api.client.post(path, headers={**api.auth(), "Idempotency-Key": "order-2"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["execution_id"] == again.json()["execution_id"]
    assert again.json()["created"] is False
    assert other.json()["execution_id"] != first.json()["execution_id"]


async def test_a_run_without_a_body_starts_with_no_input(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await api.request("POST", f"/api/v1/workflows/{workflow_id}/run")
    assert response.status_code == 201
    detail = await api.request("GET", f"/api/v1/executions/{response.json()['execution_id']}")
    assert detail.json()["input"] is None


async def test_start_at_in_the_future_leaves_the_execution_waiting_for_its_time(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    response = await api.request(
        "POST",
        f"/api/v1/workflows/{workflow_id}/run",
        json={"input": {"x": 1}, "start_at": "2999-01-01T00:00:00Z"},
    )
    execution_id = response.json()["execution_id"]
    assert await api.drain() == 0
    detail = await api.request("GET", f"/api/v1/executions/{execution_id}")
    assert detail.json()["status"] == "pending"
    assert detail.json()["wake_at"].startswith("2999-01-01")


async def test_events_are_paged_in_sequence_order(api: Api) -> None:
    execution_id = await run(api, await create(api, ECHO), {"x": 1})
    await api.drain()
    seqs: list[int] = []
    after = 0
    for _ in range(50):
        page = (
            await api.request(
                "GET", f"/api/v1/executions/{execution_id}/events?after={after}&limit=3"
            )
        ).json()
        seqs += [event["seq"] for event in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seqs) > 3
    assert seqs == list(range(1, len(seqs) + 1))
    everything = await api.request("GET", f"/api/v1/executions/{execution_id}/events?limit=1000")
    types = [event["type"] for event in everything.json()["items"]]
    assert types[0] == "execution_created"
    assert types[-1] == "execution_completed"


async def test_a_signal_resumes_a_waiting_execution_with_its_payload(api: Api) -> None:
    execution_id = await run(api, await create(api, WAITS_FOR_GO))
    await api.drain()
    waiting = await api.request("GET", f"/api/v1/executions/{execution_id}")
    assert waiting.json()["status"] == "waiting"
    sent = await api.request(
        "POST", f"/api/v1/executions/{execution_id}/signals/go", "a_editor", json={"ok": True}
    )
    assert sent.status_code == 202
    assert sent.json()["name"] == "go"
    await api.drain()
    done = (await api.request("GET", f"/api/v1/executions/{execution_id}")).json()
    assert done["status"] == "completed"
    outputs = {r["node_id"]: r["output"] for r in done["node_runs"]}
    assert outputs["after"]["payload"] == {"ok": True}
    signals = await api.request("GET", f"/api/v1/executions/{execution_id}/signals")
    assert signals.json()[0]["consumed_by"] == "wait"


async def test_cancel_a_waiting_execution_then_cancel_again_is_409(api: Api) -> None:
    execution_id = await run(api, await create(api, WAITS_FOR_GO))
    await api.drain()
    cancelled = await api.request("POST", f"/api/v1/executions/{execution_id}/cancel", "a_editor")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    again = await api.request("POST", f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 409
    signal = await api.request("POST", f"/api/v1/executions/{execution_id}/signals/go")
    assert signal.status_code == 409


async def test_retry_reopens_a_failed_execution_and_rerun_starts_a_new_one(api: Api) -> None:
    workflow_id = await create(api, CHOOSES)
    execution_id = await run(api, workflow_id, {"flag": False})
    await api.drain()
    failed = (await api.request("GET", f"/api/v1/executions/{execution_id}")).json()
    assert failed["status"] == "failed"
    assert failed["node_runs"][0]["error"]["kind"] == "no_branch_matched"
    retried = await api.request("POST", f"/api/v1/executions/{execution_id}/retry", "a_editor")
    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    events = await api.request("GET", f"/api/v1/executions/{execution_id}/events?limit=1000")
    assert "execution_retried" in [e["type"] for e in events.json()["items"]]
    not_failed = await api.request("POST", f"/api/v1/executions/{execution_id}/retry")
    assert not_failed.status_code == 409
    rerun = await api.request("POST", f"/api/v1/executions/{execution_id}/rerun", "a_editor")
    assert rerun.status_code == 201
    assert rerun.json()["id"] != execution_id
    assert rerun.json()["rerun_of"] == execution_id
    assert rerun.json()["input"] == {"flag": False}


async def test_executions_list_newest_first_with_filters_and_cursor(api: Api) -> None:
    echo = await create(api, ECHO, "echo")
    waits = await create(api, WAITS_FOR_GO, "waits")
    made = [await run(api, echo, {"x": n}) for n in range(5)]
    waiting = await run(api, waits)
    await api.drain()
    ids: list[str] = []
    cursor = ""
    for _ in range(10):
        page = (await api.request("GET", f"/api/v1/executions?limit=2{cursor}")).json()
        ids += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert ids == [waiting, *reversed(made)]
    by_status = await api.request("GET", "/api/v1/executions?status=waiting")
    assert [e["id"] for e in by_status.json()["items"]] == [waiting]
    per_workflow = await api.request("GET", f"/api/v1/workflows/{echo}/executions?limit=200")
    assert sorted(e["id"] for e in per_workflow.json()["items"]) == sorted(made)
    future = await api.request("GET", "/api/v1/executions?created_after=2999-01-01T00:00:00Z")
    assert future.json() == {"items": [], "next_cursor": None}
    past = await api.request("GET", "/api/v1/executions?created_before=2000-01-01T00:00:00Z")
    assert past.json()["items"] == []
