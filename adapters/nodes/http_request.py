"""The `http_request` node: one HTTP call, its response as output, transient failures retried.

Every attempt of one node in one execution sends the same `Idempotency-Key`, so a server
that honours it applies the call once however often the engine retries it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.nodes.http_common import (
    describe,
    lower_headers,
    parse_body,
    read_capped,
    status_details,
    time_budget,
    timeout_failure,
    transport_failure,
)
from adapters.nodes.network_guard import AddressNotAllowed
from application.nodes.rendered_config import invalid_config, typed_config
from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from domain.network_config import HTTP_METHODS, HttpRequestConfig
from domain.policies import NodeError
from domain.problems import Problem

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_MAX_RESPONSE_BYTES = 1_000_000
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class _Request:
    """A rendered config reduced to what httpx needs, every value concrete."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    json: Any
    content: bytes | None
    retry_on_status: frozenset[int]
    max_response_bytes: int | None


class HttpRequestExecutor:
    """Runs `http_request` nodes with a client built by `guarded_client`.

    `max_response_bytes` is the operator's ceiling: a node's own `max_response_bytes` may
    lower it, never raise it, because the whole body is held in the worker's memory.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._max_response_bytes = max_response_bytes
        self._default_timeout = default_timeout

    async def run(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, HttpRequestConfig)
        if isinstance(config, Failed):
            return config
        request = _build_request(config, call.idempotency_key, call.trace_headers)
        if isinstance(request, Failed):
            return request
        what = describe(request.method, request.url)
        budget = time_budget(call.now, call.deadline, self._default_timeout)
        if budget <= 0:
            return timeout_failure(what, 0)
        try:
            async with asyncio.timeout(budget):
                return await self._send(request, budget, call)
        except TimeoutError:
            return timeout_failure(what, budget)
        except (httpx.TransportError, AddressNotAllowed) as error:
            return transport_failure(error, what)
        except httpx.DecodingError as error:
            message = f"{what}: the response body could not be decoded ({error})."
            return Failed(NodeError("invalid_response", message, retryable=False))

    async def _send(self, request: _Request, budget: float, call: NodeCall) -> NodeResult:
        cap = min(request.max_response_bytes or self._max_response_bytes, self._max_response_bytes)
        async with self._client.stream(
            request.method,
            request.url,
            headers=request.headers,
            json=request.json,
            content=request.content,
            timeout=httpx.Timeout(budget),
        ) as response:
            content, truncated = await read_capped(response, cap)
        body = parse_body(response, content, truncated)
        headers = lower_headers(response.headers)
        output = {
            "status": response.status_code,
            "headers": headers,
            "body": body,
            "truncated": truncated,
        }
        if response.status_code < 400:
            return Succeeded(output=output)
        return _status_failure(request, response, body, headers, call)


def _status_failure(
    request: _Request,
    response: httpx.Response,
    body: Any,
    headers: Mapping[str, str],
    call: NodeCall,
) -> Failed:
    status = response.status_code
    retryable = status == 429 or status >= 500 or status in request.retry_on_status
    shown = body if isinstance(body, str) else json.dumps(body)
    what = describe(request.method, request.url)
    message = f"{what} answered {status} {response.reason_phrase}".rstrip() + "."
    details = status_details(status, shown, headers, call.now, call.sensitive_texts)
    return Failed(NodeError("http_status", message, retryable=retryable, details=details))


def _build_request(
    config: HttpRequestConfig, idempotency_key: str, trace_headers: Mapping[str, str]
) -> _Request | Failed:
    problems: list[Problem] = []
    method = config.method.upper()
    if method not in HTTP_METHODS:
        problems.append(_problem("method", f"method must be one of {', '.join(HTTP_METHODS)}."))
    codes = {code for code in config.retry_on_status if isinstance(code, int)}
    if len(codes) != len(config.retry_on_status):
        problems.append(_problem("retry_on_status", "status codes must be integers."))
    problems.extend(_header_problems(config.headers))
    cap = config.max_response_bytes
    if isinstance(cap, str):
        problems.append(_problem("max_response_bytes", "max_response_bytes must be an integer."))
    try:
        # httpx would replace a query already in the URL with `params`; merge them instead.
        url = httpx.URL(config.url).copy_merge_params(_query_params(config.query))
    except httpx.InvalidURL as error:
        problems.append(_problem("url", f"url is not a valid URL ({error})."))
    if problems:
        return invalid_config(problems)
    return _Request(
        method=method,
        url=url,
        headers=_with_trace(_with_idempotency_key(config.headers, idempotency_key), trace_headers),
        json=config.json,
        content=None if config.body is None or config.json is not None else config.body.encode(),
        retry_on_status=frozenset(codes),
        max_response_bytes=cap if isinstance(cap, int) else None,
    )


def _header_problems(headers: Mapping[str, str]) -> list[Problem]:
    """Values HTTP cannot carry; the problem names the header, never its value (maybe a secret)."""
    return [
        _problem(f"headers.{name}", "header values must be ASCII text on one line.")
        for name, value in headers.items()
        if not value.isascii() or "\r" in value or "\n" in value
    ]


def _problem(field: str, message: str) -> Problem:
    return Problem("invalid_config", f"config.{field}", message)


def _with_idempotency_key(headers: Mapping[str, str], key: str) -> dict[str, str]:
    """The user's headers plus ours, unless the user chose their own key."""
    merged = dict(headers)
    if not any(name.lower() == IDEMPOTENCY_HEADER.lower() for name in merged):
        merged[IDEMPOTENCY_HEADER] = key
    return merged


def _with_trace(headers: dict[str, str], trace_headers: Mapping[str, str]) -> dict[str, str]:
    """The headers plus the attempt's trace context (`traceparent`), so the service called
    joins the execution's trace; a header the node sets itself wins."""
    chosen = {name.lower() for name in headers}
    for name, value in trace_headers.items():
        if name.lower() not in chosen:
            headers[name] = value
    return headers


def _query_params(query: Mapping[str, Any]) -> dict[str, Any]:
    """Scalars and lists of scalars pass through; objects travel as JSON; nulls are left out."""
    params: dict[str, Any] = {}
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, list):
            params[name] = [_query_scalar(item) for item in value]
        else:
            params[name] = _query_scalar(value)
    return params


def _query_scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, separators=(",", ":"))
