"""Retries against a real HTTP server that answers 429, 503 or drops the connection a few
times before answering: what is retried (requests safe to repeat), how long the client
waits (Retry-After, else backoff), when it gives up, and what it raises then."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from tests.client.conftest import Answer, ScriptedServer
from treadle_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    Retries,
    RunSpec,
    TooManyRequests,
    Unavailable,
)
from treadle_client._retry import Attempts
from treadle_client.errors import retry_after_seconds

# Waits of a millisecond, so that retrying tests stay fast.
QUICK = Retries(max_attempts=4, backoff=0.001, max_backoff=0.002, budget=5.0)
MOMENT = "2026-01-01T00:00:00Z"
WORKSPACE = {"id": "ws_1", "name": "main", "role": "admin"}
RUN = {
    "execution_id": "ex_1",
    "workflow_id": "wf_1",
    "version": 1,
    "status": "pending",
    "created": True,
}
SECRET = {"name": "api_key", "created_at": MOMENT, "updated_at": MOMENT}


def refusal(status: int, code: str, retry_after: str | None = None) -> Answer:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    details = [{"path": "", "message": "try later"}]
    body = {"error": {"code": code, "message": f"{code} for now", "details": details}}
    return Answer(status, body, headers)


UNAVAILABLE = refusal(503, "storage_unavailable", "0")
RATE_LIMITED = refusal(429, "too_many_requests", "0")


def test_a_get_is_retried_after_503_and_429_until_it_answers(scripted: ScriptedServer) -> None:
    scripted.answer(UNAVAILABLE, RATE_LIMITED, Answer(200, WORKSPACE))
    with Client(scripted.url, "token", retries=QUICK) as client:
        assert client.workspace().role == "admin"
    assert [(r.method, r.path) for r in scripted.received] == [("GET", "/api/v1/workspace")] * 3


async def test_async_get_is_retried_after_dropped_connections(scripted: ScriptedServer) -> None:
    scripted.answer(Answer(drop=True), Answer(drop=True), Answer(200, WORKSPACE))
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        assert (await client.workspace()).name == "main"
    assert len(scripted.received) == 3


def test_retry_after_in_seconds_is_waited_for(scripted: ScriptedServer) -> None:
    scripted.answer(refusal(429, "too_many_requests", "0.3"), Answer(200, WORKSPACE))
    with Client(scripted.url, "token", retries=QUICK) as client:
        client.workspace()
    [gap] = scripted.gaps()
    assert gap >= 0.3  # the backoff alone would have waited a millisecond


async def test_retry_after_as_an_http_date_is_waited_for(scripted: ScriptedServer) -> None:
    # An HTTP date counts whole seconds: two seconds ahead is at least one second away.
    in_two_seconds = formatdate(time.time() + 2, usegmt=True)
    scripted.answer(refusal(503, "storage_unavailable", in_two_seconds), Answer(200, WORKSPACE))
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        await client.workspace()
    [gap] = scripted.gaps()
    assert 0.9 <= gap <= 2.5


def test_giving_up_raises_the_last_error_with_the_apis_code_message_and_details(
    scripted: ScriptedServer,
) -> None:
    scripted.answer(refusal(503, "storage_unavailable"))
    retries = Retries(max_attempts=3, backoff=0.001, max_backoff=0.002)
    with (
        Client(scripted.url, "token", retries=retries) as client,
        pytest.raises(Unavailable) as error,
    ):
        client.get_execution("ex_1")
    assert len(scripted.received) == 3
    refused = error.value
    assert (refused.status, refused.code) == (503, "storage_unavailable")
    assert refused.message == "storage_unavailable for now"
    assert refused.details == [{"path": "", "message": "try later"}]


async def test_connection_errors_give_up_as_connection_failed(scripted: ScriptedServer) -> None:
    scripted.answer(Answer(drop=True))
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        with pytest.raises(ConnectionFailed) as error:
            await client.list_secrets()
    assert len(scripted.received) == QUICK.max_attempts
    assert error.value.status is None and error.value.code == "connection_failed"


async def test_a_retry_after_beyond_the_budget_is_raised_at_once(scripted: ScriptedServer) -> None:
    scripted.answer(refusal(429, "too_many_requests", "3600"), Answer(200, WORKSPACE))
    started = time.monotonic()
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        with pytest.raises(TooManyRequests) as error:
            await client.workspace()
    assert time.monotonic() - started < QUICK.budget
    assert len(scripted.received) == 1
    assert error.value.retry_after == 3600 and error.value.code == "too_many_requests"


def test_no_retries_when_turned_off(scripted: ScriptedServer) -> None:
    scripted.answer(UNAVAILABLE, Answer(200, WORKSPACE))
    with Client(scripted.url, "token", retries=None) as client, pytest.raises(Unavailable):
        client.workspace()
    assert len(scripted.received) == 1


def test_a_post_without_an_idempotency_key_is_never_retried(scripted: ScriptedServer) -> None:
    with Client(scripted.url, "token", retries=QUICK) as client:
        for send in (
            lambda: client.run("wf_1", {"x": 1}),
            lambda: client.create_workflow("echo", {"nodes": []}),
            lambda: client.signal("ex_1", "go"),
            lambda: client.cancel("ex_1"),
            lambda: client.update_schedule("sc_1", cron="@daily"),
        ):
            scripted.answer(UNAVAILABLE, Answer(200, RUN))
            with pytest.raises(Unavailable):
                send()
            assert len(scripted.received) == 1, scripted.received[0].path


def test_a_run_with_an_idempotency_key_is_retried_with_the_same_key(
    scripted: ScriptedServer,
) -> None:
    scripted.answer(Answer(drop=True), UNAVAILABLE, Answer(201, RUN))
    with Client(scripted.url, "token", retries=QUICK) as client:
        run = client.run("wf_1", {"x": 1}, idempotency_key="order-7")
    assert run.execution_id == "ex_1"
    assert [r.headers.get("Idempotency-Key") for r in scripted.received] == ["order-7"] * 3
    assert len({r.body for r in scripted.received}) == 1


async def test_run_many_is_retried_only_when_every_run_has_a_key(
    scripted: ScriptedServer,
) -> None:
    bulk = {"runs": [RUN], "created": 1}
    keyed = [RunSpec(input=1, idempotency_key="a"), {"input": 2, "idempotency_key": "b"}]
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        scripted.answer(UNAVAILABLE, Answer(201, bulk))
        assert (await client.run_many("wf_1", keyed)).created == 1
        assert len(scripted.received) == 2
        assert [
            one["idempotency_key"] for one in json.loads(scripted.received[1].body)["runs"]
        ] == [
            "a",
            "b",
        ]

        scripted.answer(UNAVAILABLE, Answer(201, bulk))
        with pytest.raises(Unavailable):
            await client.run_many("wf_1", [*keyed, RunSpec(input=3)])
        assert len(scripted.received) == 1


async def test_put_and_delete_are_retried(scripted: ScriptedServer) -> None:
    async with AsyncClient(scripted.url, "token", retries=QUICK) as client:
        scripted.answer(RATE_LIMITED, Answer(200, SECRET))
        assert (await client.rotate_secret("api_key", "n3w")).name == "api_key"
        assert [r.method for r in scripted.received] == ["PUT", "PUT"]

        scripted.answer(UNAVAILABLE, Answer(204))
        await client.delete_secret("api_key")
        assert [r.method for r in scripted.received] == ["DELETE", "DELETE"]


def test_the_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    retries = Retries(backoff=0.1, max_backoff=0.3)
    lowest = [retries.backoff_before(n, lambda: 0.0) for n in (1, 2, 3, 4)]
    highest = [retries.backoff_before(n, lambda: 1.0) for n in (1, 2, 3, 4)]
    assert lowest == pytest.approx([0.05, 0.1, 0.15, 0.15])
    assert highest == pytest.approx([0.1, 0.2, 0.3, 0.3])


def test_attempts_stop_at_the_budget() -> None:
    now = [0.0]
    attempts = Attempts(Retries(max_attempts=10, backoff=1.0, budget=2.5), lambda: now[0])
    refused = Unavailable(503, "storage_unavailable", "down", retry_after=1.0)
    assert attempts.wait_before_retrying(refused) == 1.0
    now[0] = 1.2
    assert attempts.wait_before_retrying(refused) == 1.0
    now[0] = 2.0
    assert attempts.wait_before_retrying(refused) is None  # it would end at 3.0 > 2.5


def test_invalid_retry_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Retries(max_attempts=0)
    with pytest.raises(ValueError):
        Retries(backoff=-1)


def test_retry_after_values_that_say_nothing_are_ignored() -> None:
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past
    for nothing in (None, "", "soon", "nan", "inf"):
        assert retry_after_seconds(nothing) is None
