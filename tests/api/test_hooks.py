"""Webhook deliveries to `POST /hooks/{id}`, signed here exactly as GitHub and Stripe sign.

No bearer token is sent: the trigger's unguessable id and its verification stand in.
"""

from __future__ import annotations

import time

from tests.api.conftest import Api
from tests.api.triggers import (
    create_trigger,
    deliveries,
    drained_while,
    execution,
    executions_of,
    github_headers,
    hex_hmac,
    hook,
    payload,
    served,
    stripe_headers,
)
from tests.api.workflows import ECHO, create

PUSH = {"ref": "refs/heads/main", "repository": {"full_name": "octo/cat"}}


async def test_a_signed_github_delivery_starts_one_execution_and_its_redelivery_none(
    api: Api,
) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api, workflow_id, verification="github", headers=["X-GitHub-Event"]
    )
    body = payload(PUSH)
    headers = github_headers(trigger["secret"], body, delivery="d-1")
    first = await hook(api, trigger, body, headers=headers)
    again = await hook(api, trigger, body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202), first.text
    assert first.json()["execution_id"] == again.json()["execution_id"]
    assert first.headers["x-treadle-execution-id"] == first.json()["execution_id"]
    listed = await executions_of(api, workflow_id)
    assert [e["id"] for e in listed] == [first.json()["execution_id"]]
    started = await execution(api, first.json()["execution_id"])
    assert started["input"] == {"body": PUSH, "headers": {"x-github-event": "push"}, "query": {}}
    other = await hook(api, trigger, body, headers=github_headers(trigger["secret"], body, "d-2"))
    assert other.json()["execution_id"] != first.json()["execution_id"]
    recorded = await deliveries(api, trigger)
    assert [(d["status_code"], d["delivery_id"]) for d in recorded] == [
        (202, "d-2"),
        (202, "d-1"),
        (202, "d-1"),
    ]


async def test_a_bad_signature_is_a_401_and_starts_nothing(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, verification="github")
    body = payload(PUSH)
    wrong_secret = github_headers("not-the-secret", body, delivery="d-1")
    tampered = github_headers(trigger["secret"], body, delivery="d-1")
    unsigned = {"Content-Type": "application/json", "X-GitHub-Delivery": "d-1"}
    bare_hex = {**tampered, "X-Hub-Signature-256": hex_hmac(trigger["secret"], body)}
    answers = [
        await hook(api, trigger, body, headers=wrong_secret),
        await hook(api, trigger, body + b" ", headers=tampered),
        await hook(api, trigger, body, headers=unsigned),
        await hook(api, trigger, body, headers=bare_hex),
    ]
    assert [r.status_code for r in answers] == [401] * 4
    assert {r.json()["error"]["code"] for r in answers} == {"invalid_signature"}
    assert "www-authenticate" not in answers[0].headers
    assert await executions_of(api, workflow_id) == []
    recorded = await deliveries(api, trigger)
    assert {(d["status_code"], d["error_code"]) for d in recorded} == {(401, "invalid_signature")}
    assert all(d["execution_id"] is None and d["delivery_id"] is None for d in recorded)


async def test_stripe_signatures_are_checked_with_a_timestamp_tolerance(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, verification="stripe", secret="whsec_test")
    event = {"id": "evt_1", "type": "charge.succeeded", "data": {"object": {"amount": 42}}}
    body = payload(event)
    now = int(time.time())
    fresh = await hook(api, trigger, body, headers=stripe_headers("whsec_test", body, now))
    assert fresh.status_code == 202, fresh.text
    stale = await hook(api, trigger, body, headers=stripe_headers("whsec_test", body, now - 301))
    future = await hook(api, trigger, body, headers=stripe_headers("whsec_test", body, now + 400))
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "signature_expired")
    assert future.status_code == 401
    forged = await hook(api, trigger, body, headers=stripe_headers("whsec_other", body, now))
    assert forged.json()["error"]["code"] == "invalid_signature"
    redelivered = await hook(api, trigger, body, headers=stripe_headers("whsec_test", body))
    assert redelivered.json()["execution_id"] == fresh.json()["execution_id"]
    assert len(await executions_of(api, workflow_id)) == 1
    path = f"/api/v1/triggers/{trigger['id']}"
    await api.request("PATCH", path, json={"tolerance_seconds": 600})
    late = await hook(api, trigger, body, headers=stripe_headers("whsec_test", body, now - 400))
    assert late.status_code == 202


async def test_a_shared_secret_in_a_named_header(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api, workflow_id, verification="header_secret", secret="open sesame", verify_header="X-Key"
    )
    right = await hook(api, trigger, b"{}", headers={"x-key": "open sesame"})
    wrong = await hook(api, trigger, b"{}", headers={"X-Key": "open sesame!"})
    missing = await hook(api, trigger, b"{}")
    assert [r.status_code for r in (right, wrong, missing)] == [202, 401, 401]


async def test_a_generic_hmac_signature_and_a_delivery_id_from_the_body(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api,
        workflow_id,
        verification="hmac_sha256",
        secret="k",
        verify_header="X-Sig",
        delivery_id_path="event.id",
    )
    body = payload({"event": {"id": 7}})
    prefixed = await hook(api, trigger, body, headers={"X-Sig": "sha256=" + hex_hmac("k", body)})
    bare = await hook(api, trigger, body, headers={"X-Sig": hex_hmac("k", body).upper()})
    assert (prefixed.status_code, bare.status_code) == (202, 202)
    assert prefixed.json()["execution_id"] == bare.json()["execution_id"]
    assert (await deliveries(api, trigger))[0]["delivery_id"] == "7"


async def test_form_fields_and_query_parameters_reach_the_input(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await hook(
        api, trigger, b"name=Ada&tag=a&tag=b&empty=", headers=form, params={"source": "web"}
    )
    assert response.status_code == 202, response.text
    started = await execution(api, response.json()["execution_id"])
    assert started["input"] == {
        "body": {"name": "Ada", "tag": ["a", "b"], "empty": ""},
        "headers": {},
        "query": {"source": "web"},
    }
    text = await hook(api, trigger, b"plain words", headers={"Content-Type": "text/plain"})
    assert (await execution(api, text.json()["execution_id"]))["input"]["body"] == "plain words"


async def test_an_input_template_maps_the_request_to_the_workflow_input(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    template = {
        "x": "{{ body.repository.full_name }}",
        "event": "{{ headers['x-github-event'] }}",
        "branch": "{{ body.ref.split('/')[-1] }}",
        "dry": "{{ query.dry == 'yes' }}",
    }
    trigger = await create_trigger(
        api, workflow_id, verification="github", headers=["x-github-event"], input=template
    )
    body = payload(PUSH)
    response = await hook(
        api,
        trigger,
        body,
        headers=github_headers(trigger["secret"], body, "d-1"),
        params={"dry": "yes"},
    )
    assert response.status_code == 202, response.text
    started = await execution(api, response.json()["execution_id"])
    assert started["input"] == {"x": "octo/cat", "event": "push", "branch": "main", "dry": True}
    await api.drain()
    done = await execution(api, response.json()["execution_id"])
    assert done["status"] == "completed"


async def test_bad_request_bodies_are_4xx_with_stable_codes(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    plain = await create_trigger(api, workflow_id)
    templated = await create_trigger(api, workflow_id, input={"x": "{{ body.missing.deeper }}"})
    json_type = {"Content-Type": "application/json"}
    answers = [
        (await hook(api, plain, b"{not json", headers=json_type), 400, "invalid_body"),
        (
            await hook(api, plain, b"\xff\xfe", headers={"Content-Type": "text/plain"}),
            400,
            "invalid_body",
        ),
        (await hook(api, plain, b'{"a": "\\u0000"}', headers=json_type), 422, "invalid_input"),
        (await hook(api, plain, b"[" * 100 + b"]" * 100, headers=json_type), 422, "invalid_input"),
        (await hook(api, templated, b"{}", headers=json_type), 422, "input_template_failed"),
    ]
    for response, status, code in answers:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert await executions_of(api, workflow_id) == []


async def test_a_body_over_the_trigger_limit_is_a_413(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, max_body_bytes=100)
    fits = await hook(api, trigger, b"x" * 100, headers={"Content-Type": "text/plain"})
    over = await hook(api, trigger, b"x" * 101, headers={"Content-Type": "text/plain"})
    assert fits.status_code == 202
    assert (over.status_code, over.json()["error"]["code"]) == (413, "body_too_large")
    assert len(await executions_of(api, workflow_id)) == 1


async def test_requests_over_the_trigger_rate_are_a_429(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id, rate_limit=2)
    answers = [await hook(api, trigger, b"{}") for _ in range(4)]
    assert [r.status_code for r in answers][:2] == [202, 202]
    refused = answers[-1]
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "too_many_requests")
    assert int(refused.headers["retry-after"]) >= 1
    assert len(await executions_of(api, workflow_id)) == sum(r.status_code == 202 for r in answers)


async def test_a_disabled_deleted_or_archived_trigger_answers_404(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(api, workflow_id)
    path = f"/api/v1/triggers/{trigger['id']}"
    await api.request("POST", f"{path}/disable")
    disabled = await hook(api, trigger, b"{}")
    await api.request("POST", f"{path}/enable")
    assert (await hook(api, trigger, b"{}")).status_code == 202
    await api.request("POST", f"/api/v1/workflows/{workflow_id}/archive")
    archived = await hook(api, trigger, b"{}")
    other = await create_trigger(api, await create(api, ECHO, name="other"))
    assert (await api.request("DELETE", f"/api/v1/triggers/{other['id']}")).status_code == 204
    deleted = await hook(api, other, b"{}")
    unknown = await api.client.post("/hooks/trg_nothing-here")
    for response in (disabled, archived, deleted, unknown):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


async def test_respond_wait_answers_with_the_node_output(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api,
        workflow_id,
        input={"x": "{{ body.x }}"},
        respond="wait",
        respond_node="double",
        wait_seconds=10,
    )
    async with served(api) as client:
        response = await drained_while(
            api, client.post(f"/hooks/{trigger['id']}", content=payload({"x": 21}))
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"x": 21}
    execution_id = response.headers["x-treadle-execution-id"]
    assert (await deliveries(api, trigger))[0] == {
        **(await deliveries(api, trigger))[0],
        "status_code": 200,
        "execution_id": execution_id,
    }
    whole = await create_trigger(
        api, workflow_id, input={"x": "{{ body.x }}"}, respond="wait", wait_seconds=10
    )
    async with served(api) as client:
        ended = await drained_while(
            api, client.post(f"/hooks/{whole['id']}", content=payload({"x": 2}))
        )
    assert ended.status_code == 200
    assert ended.json() == (await execution(api, ended.headers["x-treadle-execution-id"]))["output"]


async def test_respond_wait_answers_202_once_the_wait_is_over(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api, workflow_id, respond="wait", respond_node="double", wait_seconds=0.3
    )
    started = time.monotonic()
    response = await hook(api, trigger, payload({"x": 1}))
    assert response.status_code == 202
    assert 0.3 <= time.monotonic() - started < 5
    assert (await execution(api, response.json()["execution_id"]))["status"] == "pending"


async def test_respond_wait_answers_502_when_the_node_cannot_succeed(api: Api) -> None:
    workflow_id = await create(api, ECHO)
    trigger = await create_trigger(
        api, workflow_id, respond="wait", respond_node="double", wait_seconds=10
    )
    # The default input has no `x`: the transform fails, and so does the execution.
    async with served(api) as client:
        response = await drained_while(
            api, client.post(f"/hooks/{trigger['id']}", content=payload({"y": 1}))
        )
    assert (response.status_code, response.json()["error"]["code"]) == (502, "respond_node_failed")
