"""The `http_request` node: one HTTP call, its response as output, transient failures retried.

Every attempt of one node in one execution sends the same `Idempotency-Key`, so a server
that honours it applies the call once however often the engine retries it.

Redirects are followed here, hop by hop, rather than by httpx: each hop is a new request
through the same guarded client (so the network guard checks every host a redirect
names), and the rules for what a hop carries are ours: see `_redirected`.
"""

from __future__ import annotations

import asyncio
import dataclasses
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

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CROSS_ORIGIN_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "traceparent", "tracestate"}
)
"""The only headers a hop to another origin carries (it never carries a body: see
`_redirected`). Any other header may hold a credential under a name no list could foresee
(`X-Api-Key`, `Private-Token`, ...): it was meant for the server first named. The
Idempotency-Key stays behind too: it keys a request at that server."""
BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "transfer-encoding"}
)
"""Dropped with the body when a redirect turns the request into a GET."""
DEFAULT_PORTS = {"http": 80, "https": 443}


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
    max_redirects: int


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
        """Sends the request and follows its redirects; the caller's time budget covers
        every hop. Only the final answer's body is read, and capped."""
        cap = min(request.max_response_bytes or self._max_response_bytes, self._max_response_bytes)
        hops = 0
        while True:
            async with self._client.stream(
                request.method,
                request.url,
                headers=request.headers,
                json=request.json,
                content=request.content,
                timeout=httpx.Timeout(budget),
            ) as response:
                # A redirect's own body is never read: nobody sees it.
                if not _is_followed(request, response):
                    content, truncated = await read_capped(response, cap)
                    return _answer(request, response, content, truncated, call)
            following = _redirected(request, response, hops)
            if isinstance(following, Failed):
                return following
            request, hops = following, hops + 1


def _answer(
    request: _Request, response: httpx.Response, content: bytes, truncated: bool, call: NodeCall
) -> NodeResult:
    """The node's result for the final response: its output below 400, else a failure."""
    body = parse_body(response, content, truncated)
    headers = lower_headers(response.headers)
    output = {
        "status": response.status_code,
        "headers": headers,
        "body": body,
        "truncated": truncated,
        # Without user info: a URL's password is not the output's to show.
        "url": str(request.url.copy_with(username=None, password=None)),
    }
    if response.status_code < 400:
        return Succeeded(output=output)
    return _status_failure(request, response, body, headers, call)


def _is_followed(request: _Request, response: httpx.Response) -> bool:
    """Whether the response is a redirect this node follows (one with somewhere to go)."""
    return (
        request.max_redirects > 0
        and response.status_code in REDIRECT_STATUSES
        and "location" in response.headers
    )


def _redirected(request: _Request, response: httpx.Response, hops: int) -> _Request | Failed:
    """The request a redirect asks for, after `hops` redirects already followed.

    301 and 302 turn a method other than GET or HEAD into a GET, and 303 turns anything
    but HEAD into one, as browsers do; the body goes with it. 307 and 308 repeat the
    request as it was, but only to the same origin when it has a body. A hop to another
    origin carries none of the node's own headers but the harmless ones, and a redirect
    from https to http is refused: the request (its body, its headers) would cross the
    network in clear text although its author asked for TLS.
    """
    what = describe(request.method, request.url)
    if hops >= request.max_redirects:
        return _redirect_failure(
            "too_many_redirects",
            f"{what} answered {response.status_code} after {hops} redirects already"
            f" followed, the most max_redirects ({request.max_redirects}) allows.",
            response.status_code,
        )
    target = _location(request.url, response.headers["location"])
    if target is None:
        return _redirect_failure(
            "invalid_response",
            f"{what} answered {response.status_code} with a Location that is not an"
            " http:// or https:// URL.",
            response.status_code,
        )
    if request.url.scheme == "https" and target.scheme == "http":
        return _redirect_failure(
            "insecure_redirect",
            f"{what} redirected to {describe(request.method, target)}: a redirect from"
            " https to http is refused.",
            response.status_code,
        )
    method = _redirect_method(request.method, response.status_code)
    cross_origin = _origin(request.url) != _origin(target)
    # A 303 asks for the answer at the new place: no body goes there, even a GET's.
    keeps_body = method == request.method and response.status_code != 303
    if cross_origin and keeps_body and _has_body(request):
        return _redirect_failure(
            "cross_origin_redirect",
            f"{what} redirected to {describe(request.method, target)}, another origin, with"
            f" {response.status_code}, which would send the request's body there again:"
            " a body (it may hold secrets) is not sent to a server the node did not name.",
            response.status_code,
        )
    headers = _redirect_headers(request.headers, cross_origin)
    if keeps_body:
        return dataclasses.replace(request, url=target, headers=headers)
    headers = {name: value for name, value in headers.items() if name.lower() not in BODY_HEADERS}
    return dataclasses.replace(
        request, method=method, url=target, headers=headers, json=None, content=None
    )


def _redirect_failure(kind: str, message: str, status: int) -> Failed:
    """A redirect not followed: retrying would meet the same redirect again."""
    return Failed(NodeError(kind, message, retryable=False, details={"status": status}))


def _location(base: httpx.URL, location: str) -> httpx.URL | None:
    """The absolute URL a Location header names (a relative one is resolved against the
    request's), or None when it is not an http or https URL."""
    try:
        target = base.join(location.strip())
    except httpx.InvalidURL:
        return None
    if target.scheme not in DEFAULT_PORTS or not target.host:
        return None
    return target.copy_with(fragment=None)


def _redirect_method(method: str, status: int) -> str:
    if method == "HEAD":
        return method
    if status == 303 or (status in (301, 302) and method != "GET"):
        return "GET"
    return method


def _redirect_headers(headers: Mapping[str, str], cross_origin: bool) -> dict[str, str]:
    """The headers the next hop sends: no Host (it names the old server; httpx sets the
    new one), and, when the hop leaves the origin, only `CROSS_ORIGIN_HEADERS`."""
    if cross_origin:
        return {n: v for n, v in headers.items() if n.lower() in CROSS_ORIGIN_HEADERS}
    return {name: value for name, value in headers.items() if name.lower() != "host"}


def _has_body(request: _Request) -> bool:
    return request.json is not None or bool(request.content)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    """Scheme, host and port, the port spelled out: `https://a` and `https://a:443` are one."""
    return url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme]


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
    redirects = config.max_redirects
    if isinstance(redirects, str):
        problems.append(_problem("max_redirects", "max_redirects must be an integer."))
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
        max_redirects=redirects if isinstance(redirects, int) else 0,
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
