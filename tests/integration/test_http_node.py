"""The `http_request` executor against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

import httpcore
import httpx
import pytest

from adapters.nodes.guarded_transport import guarded_client
from adapters.nodes.http_request import HttpRequestExecutor
from adapters.nodes.network_guard import NetworkGuard
from application.ports.executors import Failed, NodeResult, Succeeded
from domain.definition import NodeKind
from tests.support.fake_servers import ProgrammableServer
from tests.support.node_calls import node_call


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real network backend, noting every address a connection is opened to (loopback only)."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected_to: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected_to.append(host)
        if not ip_address(host).is_loopback:
            # A fail-safe: should the guard ever let one through, the tests still send nothing.
            raise httpcore.ConnectError(f"the tests never connect to {host}")
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def server() -> Iterator[ProgrammableServer]:
    with ProgrammableServer() as running:
        yield running


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
async def client(backend: RecordingBackend) -> AsyncIterator[httpx.AsyncClient]:
    guarded = guarded_client(NetworkGuard(["127.0.0.1"]), inner_backend=backend)
    yield guarded
    await guarded.aclose()


@pytest.fixture
def executor(client: httpx.AsyncClient) -> HttpRequestExecutor:
    return HttpRequestExecutor(client)


async def run(executor: HttpRequestExecutor, config: dict[str, Any], **call: Any) -> NodeResult:
    return await executor.run(node_call(NodeKind.HTTP_REQUEST, config, **call))


def succeeded(result: NodeResult) -> dict[str, Any]:
    assert isinstance(result, Succeeded), result
    assert isinstance(result.output, dict)
    return result.output


def failed(result: NodeResult) -> Failed:
    assert isinstance(result, Failed), result
    return result


async def test_a_json_response_becomes_parsed_output(executor, server):
    output = succeeded(await run(executor, {"url": f"{server.url}/json"}))

    assert output["status"] == 200
    assert output["body"] == {"hello": "world", "items": [1, 2, 3]}
    assert output["headers"]["content-type"] == "application/json"
    assert output["truncated"] is False


async def test_a_text_response_stays_text(executor, server):
    output = succeeded(await run(executor, {"url": f"{server.url}/text"}))

    assert output["body"] == "hello, world"


async def test_a_redirect_is_followed_and_the_output_names_the_final_url(executor, server):
    output = succeeded(await run(executor, {"url": f"{server.url}/redirect"}))

    assert output["status"] == 200
    assert output["body"] == {"hello": "world", "items": [1, 2, 3]}
    assert output["url"] == f"{server.url}/json"
    assert [request.path for request in server.requests] == ["/redirect", "/json"]


async def test_with_max_redirects_0_a_redirect_is_the_result(executor, server):
    config = {"url": f"{server.url}/redirect", "max_redirects": 0}
    output = succeeded(await run(executor, config))

    assert output["status"] == 302
    assert output["headers"]["location"] == "/json"
    assert output["url"] == f"{server.url}/redirect"
    assert [request.path for request in server.requests] == ["/redirect"]


async def test_method_query_headers_and_json_body_are_sent(executor, server):
    config = {
        "method": "post",
        "url": f"{server.url}/echo",
        "query": {"q": "find me", "n": 3, "tags": ["a", "b"], "skip": None},
        "headers": {"X-Custom": "yes"},
        "json": {"name": "treadle"},
    }
    echoed = succeeded(await run(executor, config))["body"]

    assert echoed["method"] == "POST"
    assert echoed["query"] == {"q": ["find me"], "n": ["3"], "tags": ["a", "b"]}
    assert echoed["headers"]["x-custom"] == "yes"
    assert echoed["headers"]["content-type"] == "application/json"
    assert json.loads(echoed["body"]) == {"name": "treadle"}


async def test_a_string_body_is_sent_as_is(executor, server):
    config = {"method": "PUT", "url": f"{server.url}/echo", "body": "plain words"}
    echoed = succeeded(await run(executor, config))["body"]

    assert echoed["method"] == "PUT"
    assert echoed["body"] == "plain words"


async def test_the_body_stops_at_the_node_cap(executor, server):
    config = {"url": f"{server.url}/bytes/5000", "max_response_bytes": 100}
    output = succeeded(await run(executor, config))

    assert output["body"] == "x" * 100
    assert output["truncated"] is True


async def test_a_node_cannot_raise_the_operators_cap(client, server):
    executor = HttpRequestExecutor(client, max_response_bytes=50)
    config = {"url": f"{server.url}/bytes/5000", "max_response_bytes": 1000}
    output = succeeded(await run(executor, config))

    assert len(output["body"]) == 50
    assert output["truncated"] is True


async def test_the_idempotency_key_is_sent(executor, server):
    succeeded(await run(executor, {"url": f"{server.url}/json"}, idempotency_key="e-7:fetch"))

    assert server.keys_seen() == ["e-7:fetch"]


async def test_a_users_own_idempotency_key_wins(executor, server):
    config = {"url": f"{server.url}/echo", "headers": {"idempotency-key": "mine"}}
    echoed = succeeded(await run(executor, config, idempotency_key="e-7:fetch"))["body"]

    assert echoed["headers"]["idempotency-key"] == "mine"
    assert server.keys_seen() == ["mine"]


async def test_every_attempt_of_a_flaky_call_carries_the_same_key(executor, server):
    config = {"method": "POST", "url": f"{server.url}/flaky/charge?failures=2", "json": {}}
    results = [
        await run(executor, config, attempt=attempt, idempotency_key="e-9:charge")
        for attempt in (1, 2, 3)
    ]

    first, second = failed(results[0]), failed(results[1])
    assert first.error.retryable and second.error.retryable
    assert first.error.details is not None and first.error.details["status"] == 500
    assert succeeded(results[2])["body"] == {"ok": True, "call": 3}
    assert server.requests_with_key("e-9:charge") == 3


async def test_404_fails_for_good_with_the_status_and_an_excerpt(executor, server):
    error = failed(await run(executor, {"url": f"{server.url}/status/404"})).error

    assert (error.kind, error.retryable) == ("http_status", False)
    assert error.details is not None
    assert error.details["status"] == 404
    assert "status 404" in str(error.details["body_excerpt"])
    assert "404" in error.message


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_rate_limits_are_retried(executor, server, status):
    error = failed(await run(executor, {"url": f"{server.url}/status/{status}"})).error

    assert (error.kind, error.retryable) == ("http_status", True)


async def test_retry_after_is_reported(executor, server):
    error = failed(await run(executor, {"url": f"{server.url}/status/429?retry_after=7"})).error

    assert error.details is not None and error.details["retry_after_seconds"] == 7.0


async def test_retry_on_status_makes_a_4xx_retryable(executor, server):
    config = {"url": f"{server.url}/status/409", "retry_on_status": [409]}
    error = failed(await run(executor, config)).error

    assert error.retryable is True


async def test_errors_do_not_quote_header_values_or_the_query(executor, server):
    config = {
        "url": f"{server.url}/status/500?token=query-secret",
        "headers": {"Authorization": "Bearer header-secret"},
    }
    error = failed(await run(executor, config)).error

    shown = repr(error.as_dict())
    assert "header-secret" not in shown and "query-secret" not in shown
    assert f"127.0.0.1:{server.port}/status/500" in error.message


async def test_a_slow_server_times_out_at_the_deadline(executor, server):
    started = time.monotonic()
    config = {"url": f"{server.url}/slow?seconds=10"}
    error = failed(await run(executor, config, timeout=timedelta(seconds=0.3))).error

    assert (error.kind, error.retryable) == ("timeout", True)
    assert time.monotonic() - started < 5


async def test_a_deadline_already_past_sends_nothing(executor, server):
    config = {"url": f"{server.url}/json"}
    error = failed(await run(executor, config, timeout=timedelta(seconds=-1))).error

    assert error.kind == "timeout"
    assert server.requests == []


async def test_connection_refused_is_retryable(executor):
    with socket.socket() as bound_but_not_listening:
        bound_but_not_listening.bind(("127.0.0.1", 0))
        port = bound_but_not_listening.getsockname()[1]
        error = failed(await run(executor, {"url": f"http://127.0.0.1:{port}/"})).error

    assert (error.kind, error.retryable) == ("connection_error", True)


async def test_a_config_invalid_after_rendering_fails_for_good(executor):
    error = failed(await run(executor, {"url": "ftp://example.com/", "verb": "GET"})).error

    assert (error.kind, error.retryable) == ("invalid_config", False)
    assert "config.url" in error.message and "config.verb" in error.message


async def test_connections_go_to_the_checked_address_not_the_name(server):
    backend = RecordingBackend()
    async with guarded_client(NetworkGuard(["localhost"]), inner_backend=backend) as client:
        url = f"http://localhost:{server.port}/json"
        succeeded(await run(HttpRequestExecutor(client), {"url": url}))

    assert backend.connected_to, "the guarded backend was bypassed"
    assert "localhost" not in backend.connected_to
    assert backend.connected_to[-1] == "127.0.0.1"


@pytest.fixture
async def unguarded_executor(backend: RecordingBackend) -> AsyncIterator[HttpRequestExecutor]:
    async with guarded_client(NetworkGuard(), inner_backend=backend) as client:
        yield HttpRequestExecutor(client)


@pytest.mark.parametrize(
    ("url", "address", "reason"),
    [
        ("http://127.0.0.1:{port}/json", "127.0.0.1", "loopback address"),
        ("http://[::1]:{port}/json", "::1", "loopback address"),
        ("http://localhost:{port}/json", None, "loopback address"),
        ("http://10.0.0.1:9/", "10.0.0.1", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "cloud metadata"),
    ],
)
async def test_the_guard_refuses_before_connecting(
    unguarded_executor, backend, server, url, address, reason
):
    result = await run(unguarded_executor, {"url": url.format(port=server.port)})

    error = failed(result).error
    assert (error.kind, error.retryable) == ("address_not_allowed", False)
    assert reason in error.message
    assert "TREADLE_HTTP_ALLOWED_HOSTS" in error.message
    if address is not None:
        assert error.details is not None and error.details["address"] == address
    assert backend.connected_to == []
    assert server.requests == []


async def test_a_header_value_http_cannot_carry_is_named_not_quoted(executor, server):
    config = {"url": f"{server.url}/json", "headers": {"X-Token": "line\nbreak-secret"}}
    error = failed(await run(executor, config)).error

    assert (error.kind, error.retryable) == ("invalid_config", False)
    assert "X-Token" in error.message
    assert "break-secret" not in repr(error.as_dict())
    assert server.requests == []
