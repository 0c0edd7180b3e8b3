"""The `http_request` executor following redirects, against real servers on 127.0.0.1.

Every hop goes through the guarded client, so the network guard checks the hosts a
redirect names; a few rules that need TLS or a script run over httpx's mock transport.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.nodes.guarded_transport import guarded_client
from adapters.nodes.http_request import HttpRequestExecutor
from adapters.nodes.network_guard import NetworkGuard
from adapters.nodes.scripted_network import ScriptedNetwork
from application.workflow_tests import ScriptedResponse
from application.workflow_tests_calls import RequestMatch
from domain.definition import NodeKind
from domain.node_config import parse_node_config
from tests.integration.test_http_node import RecordingBackend, failed, run, succeeded
from tests.support.fake_servers import (
    Answer,
    BackgroundServer,
    ProgrammableServer,
    RecordedRequest,
    json_answer,
)

CREDENTIALS = {
    "Authorization": "Bearer top-secret",
    "Cookie": "session=abc",
    "Proxy-Authorization": "Basic cHJveHk=",
}


class RoutedServer(BackgroundServer):
    """Answers each path from `routes` (a redirect, say), and any other with the request
    itself as JSON, so a test can see what the last hop sent."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Answer] = {}

    def redirect(self, path: str, status: int, location: str) -> None:
        self.routes[path] = (status, {"Location": location}, b"")

    def cookie(self, path: str, cookie: str) -> None:
        self.routes[path] = (200, {"Set-Cookie": f"{cookie}; Path=/"}, b"")

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path in self.routes:
            return self.routes[request.path]
        if request.path == "/big":
            return 200, {"Content-Type": "text/plain"}, b"x" * 5000
        echoed = {
            "method": request.method,
            "path": request.path,
            "headers": request.headers,
            "body": request.body.decode(),
        }
        return json_answer(200, echoed)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


@pytest.fixture
def server() -> Iterator[RoutedServer]:
    with RoutedServer() as running:
        yield running


@pytest.fixture
def other() -> Iterator[RoutedServer]:
    """A second server: another port on 127.0.0.1 is another origin."""
    with RoutedServer() as running:
        yield running


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
async def executor(backend: RecordingBackend) -> AsyncIterator[HttpRequestExecutor]:
    async with guarded_client(NetworkGuard(["127.0.0.1"]), inner_backend=backend) as client:
        yield HttpRequestExecutor(client)


async def test_a_chain_of_redirects_ends_at_the_final_answer(executor, server, other):
    server.redirect("/start", 302, "/moved")  # relative: resolved against the request
    server.redirect("/moved", 301, f"{other.url}/final?page=2")
    output = succeeded(await run(executor, {"url": f"{server.url}/start"}))

    assert output["status"] == 200
    assert output["url"] == f"{other.url}/final?page=2"
    assert output["body"]["path"] == "/final"
    assert server.paths() == ["/start", "/moved"]
    assert other.paths() == ["/final"]


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_a_post_redirected_by_301_302_303_becomes_a_get_without_body(
    executor, server, status
):
    server.redirect("/submit", status, "/result")
    config = {"method": "POST", "url": f"{server.url}/submit", "json": {"order": 7}}
    echoed = succeeded(await run(executor, config))["body"]

    assert echoed["method"] == "GET"
    assert echoed["body"] == ""
    assert "content-type" not in echoed["headers"]
    assert "content-length" not in echoed["headers"]
    assert server.requests[0].json() == {"order": 7}


async def test_a_303_turns_even_a_put_into_a_get_but_a_head_stays_a_head(executor, server):
    server.redirect("/put", 303, "/after-put")
    server.redirect("/head", 303, "/after-head")
    put = {"method": "PUT", "url": f"{server.url}/put", "body": "data"}
    head = {"method": "HEAD", "url": f"{server.url}/head"}

    assert succeeded(await run(executor, put))["body"]["method"] == "GET"
    assert succeeded(await run(executor, head))["status"] == 200
    assert server.requests[-1].method == "HEAD"


@pytest.mark.parametrize("status", [307, 308])
async def test_307_and_308_repeat_the_method_and_body(executor, server, status):
    server.redirect("/submit", status, "/again")
    config = {
        "method": "POST",
        "url": f"{server.url}/submit",
        "json": {"order": 7},
        "headers": {"X-Custom": "yes"},
    }
    echoed = succeeded(await run(executor, config, idempotency_key="e-1:pay"))["body"]

    assert echoed["method"] == "POST"
    assert json.loads(echoed["body"]) == {"order": 7}
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-custom"] == "yes"
    assert echoed["headers"]["idempotency-key"] == "e-1:pay"


async def test_only_harmless_headers_follow_a_redirect_to_another_origin(executor, server, other):
    server.redirect("/start", 302, f"{other.url}/elsewhere")
    headers = {**CREDENTIALS, "X-Api-Key": "sk-live-123", "Accept": "application/json"}
    config = {"url": f"{server.url}/start", "headers": headers}
    echoed = succeeded(await run(executor, config, idempotency_key="e-1:n"))["body"]

    sent = echoed["headers"]
    assert not {"authorization", "cookie", "proxy-authorization", "x-api-key"} & set(sent)
    assert "idempotency-key" not in sent  # it keys a request at the first server
    assert sent["accept"] == "application/json"
    assert server.requests[0].headers["authorization"] == "Bearer top-secret"
    assert server.requests[0].headers["x-api-key"] == "sk-live-123"


@pytest.mark.parametrize("status", [307, 308])
async def test_a_body_is_not_sent_again_to_another_origin(executor, server, other, status):
    server.redirect("/pay", status, f"{other.url}/collect")
    config = {"method": "POST", "url": f"{server.url}/pay", "json": {"token": "sk-live-123"}}
    error = failed(await run(executor, config)).error

    assert (error.kind, error.retryable) == ("cross_origin_redirect", False)
    assert other.requests == []


async def test_a_cookie_one_call_was_given_is_not_sent_by_the_next(executor, server):
    server.cookie("/login", "session=tenant-a-secret")
    succeeded(await run(executor, {"url": f"{server.url}/login"}))
    sent = succeeded(await run(executor, {"url": f"{server.url}/echo"}))["body"]["headers"]

    assert "cookie" not in sent


async def test_credentials_are_kept_on_the_same_origin(executor, server):
    server.redirect("/start", 302, f"{server.url}/same")
    config = {"url": f"{server.url}/start", "headers": CREDENTIALS}
    sent = succeeded(await run(executor, config))["body"]["headers"]

    assert sent["authorization"] == "Bearer top-secret"
    assert sent["cookie"] == "session=abc"
    assert sent["proxy-authorization"] == "Basic cHJveHk="


async def test_credentials_dropped_once_are_not_sent_back_to_the_first_origin(
    executor, server, other
):
    server.redirect("/start", 302, f"{other.url}/away")
    other.redirect("/away", 302, f"{server.url}/back")
    config = {"url": f"{server.url}/start", "headers": CREDENTIALS}
    sent = succeeded(await run(executor, config))["body"]["headers"]

    assert "authorization" not in sent


async def test_a_redirect_to_an_address_the_guard_refuses_fails(backend, server, other):
    # Only the name `localhost` is allowed; the redirect names 127.0.0.1, which is not.
    server.redirect("/start", 302, f"{other.url}/internal")
    async with guarded_client(NetworkGuard(["localhost"]), inner_backend=backend) as client:
        config = {"url": f"http://localhost:{server.port}/start"}
        error = failed(await run(HttpRequestExecutor(client), config)).error

    assert (error.kind, error.retryable) == ("address_not_allowed", False)
    assert error.details is not None and error.details["address"] == "127.0.0.1"
    assert server.paths() == ["/start"]
    assert other.requests == []


async def test_a_redirect_to_cloud_metadata_is_refused_before_connecting(executor, backend, server):
    server.redirect("/start", 302, "http://169.254.169.254/latest/meta-data/")
    error = failed(await run(executor, {"url": f"{server.url}/start"})).error

    assert (error.kind, error.retryable) == ("address_not_allowed", False)
    assert "169.254.169.254" not in backend.connected_to


async def test_more_redirects_than_allowed_fail_for_good(executor, server):
    server.redirect("/loop", 302, "/loop")
    error = failed(await run(executor, {"url": f"{server.url}/loop", "max_redirects": 3})).error

    assert (error.kind, error.retryable) == ("too_many_redirects", False)
    assert "max_redirects" in error.message
    assert server.paths() == ["/loop"] * 4


async def test_the_default_follows_five_redirects(executor, server):
    for hop in range(5):
        server.redirect(f"/hop{hop}", 302, f"/hop{hop + 1}")
    output = succeeded(await run(executor, {"url": f"{server.url}/hop0"}))

    assert output["body"]["path"] == "/hop5"


async def test_a_redirect_without_location_is_the_result(executor, server):
    server.routes["/nowhere"] = (302, {}, b"")
    output = succeeded(await run(executor, {"url": f"{server.url}/nowhere"}))

    assert output["status"] == 302
    assert server.paths() == ["/nowhere"]


async def test_a_location_that_is_not_http_fails_for_good(executor, server):
    server.redirect("/start", 302, "ftp://example.com/file")
    error = failed(await run(executor, {"url": f"{server.url}/start"})).error

    assert (error.kind, error.retryable) == ("invalid_response", False)


async def test_the_size_limit_applies_to_the_final_body(executor, server):
    server.redirect("/start", 302, "/big")
    output = succeeded(
        await run(executor, {"url": f"{server.url}/start", "max_response_bytes": 100})
    )

    assert output["body"] == "x" * 100
    assert output["truncated"] is True


async def test_the_timeout_covers_every_hop(executor, server):
    with ProgrammableServer() as slow:
        server.redirect("/start", 302, f"{slow.url}/slow?seconds=10")
        config = {"url": f"{server.url}/start"}
        error = failed(await run(executor, config, timeout=timedelta(seconds=0.3))).error

    assert (error.kind, error.retryable) == ("timeout", True)


# ---- Over a mock transport: TLS, and the scripted network of `treadle test` --------------


def mock_executor(
    answer: Callable[[httpx.Request], httpx.Response], sent: list[httpx.Request]
) -> HttpRequestExecutor:
    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    return HttpRequestExecutor(httpx.AsyncClient(transport=httpx.MockTransport(respond)))


async def test_a_redirect_from_https_to_http_is_refused() -> None:
    sent: list[httpx.Request] = []
    executor = mock_executor(
        lambda request: httpx.Response(302, headers={"Location": "http://api.test/plain"}), sent
    )
    config = {"url": "https://api.test/secure", "headers": CREDENTIALS}
    error = failed(await run(executor, config)).error

    assert (error.kind, error.retryable) == ("insecure_redirect", False)
    assert "https to http" in error.message
    assert [str(request.url) for request in sent] == ["https://api.test/secure"]


async def test_an_upgrade_to_https_on_the_same_host_is_another_origin() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": "https://api.test/x"})
        return httpx.Response(200, json={})

    executor = mock_executor(answer, sent)
    succeeded(await run(executor, {"url": "http://api.test/x", "headers": CREDENTIALS}))

    assert "authorization" in sent[0].headers
    assert "authorization" not in sent[1].headers


async def test_a_scripted_redirect_is_followed_to_the_answer_its_target_matches() -> None:
    network = ScriptedNetwork(
        {
            "node-1": [
                ScriptedResponse(status=302, headers={"Location": "https://api.test/new"}),
                ScriptedResponse(body={"moved": True}, when=RequestMatch(url_contains="/new")),
            ]
        }
    )
    executor = network.executors()[NodeKind.HTTP_REQUEST]
    output = succeeded(await run(executor, {"url": "https://api.test/old"}))

    assert output["body"] == {"moved": True}
    assert output["url"] == "https://api.test/new"


async def test_a_scripted_redirect_without_an_answer_for_its_target_is_unscripted() -> None:
    network = ScriptedNetwork(
        {"node-1": [ScriptedResponse(status=302, headers={"Location": "/new"})]}
    )
    executor = network.executors()[NodeKind.HTTP_REQUEST]
    error = failed(await run(executor, {"url": "https://api.test/old"})).error

    assert (error.kind, error.retryable) == ("unscripted_request", False)
    assert "https://api.test/new" in error.message


# ---- The config field ----------------------------------------------------------------------


def test_max_redirects_defaults_to_5_and_takes_0_to_20_or_a_template() -> None:
    def parsed(extra: dict[str, Any]) -> tuple[Any, list[str]]:
        config, problems = parse_node_config(
            NodeKind.HTTP_REQUEST, {"url": "https://e.test", **extra}, "config"
        )
        return config, [problem.path for problem in problems]

    assert parsed({})[0].max_redirects == 5
    assert parsed({"max_redirects": 0})[0].max_redirects == 0
    assert parsed({"max_redirects": "{{ input.hops }}"})[0].max_redirects == "{{ input.hops }}"
    for wrong in (-1, 21, 1.5, True, "many"):
        assert parsed({"max_redirects": wrong})[1] == ["config.max_redirects"], wrong


async def test_a_rendered_max_redirects_that_is_not_an_integer_fails_for_good(executor) -> None:
    error = failed(await run(executor, {"url": "https://e.test", "max_redirects": "x"})).error

    assert (error.kind, error.retryable) == ("invalid_config", False)
    assert "config.max_redirects" in error.message
