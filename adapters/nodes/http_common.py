"""What the HTTP and AI executors share: time budgets, capped bodies, and error translation.

Errors never quote request headers or query strings: rendered templates may have put
secrets there. A URL is described by scheme, host and path only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters.nodes.network_guard import AddressNotAllowed
from application.ports.executors import Failed
from application.redaction import redact
from domain.policies import NodeError

EXCERPT_CHARS = 500


def time_budget(now: datetime, deadline: datetime | None, default: float) -> float:
    """Seconds the call may take: what is left until the deadline, else the default."""
    if deadline is None:
        return default
    return (deadline - now).total_seconds()


def timeout_failure(what: str, seconds: float) -> Failed:
    message = f"{what} did not finish within {seconds:.3g} s."
    return Failed(NodeError(kind="timeout", message=message, retryable=True))


def describe(method: str, url: httpx.URL) -> str:
    """`GET https://host/path`, leaving out the query string, which may carry secrets."""
    return f"{method} {url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"


def transport_failure(error: Exception, what: str) -> Failed:
    """The node error for a request that got no response; refusals stay non-retryable."""
    if isinstance(error, AddressNotAllowed):
        return Failed(error.error)
    if isinstance(error, httpx.LocalProtocolError):
        # Its text may quote the offending header, and headers may carry secrets.
        message = f"{what} could not be sent: the request is not valid HTTP."
        return Failed(NodeError(kind="invalid_request", message=message, retryable=False))
    if isinstance(error, httpx.TimeoutException):
        kind, reason = "timeout", type(error).__name__
    else:
        kind, reason = "connection_error", str(error) or type(error).__name__
    return Failed(NodeError(kind=kind, message=f"{what} failed: {reason}", retryable=True))


async def read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """The decoded body up to `cap` bytes, and whether more was left unread."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = cap - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def is_json_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def decode_text(response: httpx.Response, content: bytes) -> str:
    return content.decode(response.charset_encoding or "utf-8", errors="replace")


def parse_body(response: httpx.Response, content: bytes, truncated: bool) -> Any:
    """JSON when the server says so and the whole body parsed, else text."""
    text = decode_text(response, content)
    if truncated or not is_json_type(response.headers.get("content-type")) or not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def lower_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def excerpt(text: str, hide: Iterable[str] = ()) -> str:
    """The start of ``text``, with the ``hide`` texts redacted before it is cut (a cut
    through a secret would leave its first part where no matching can find it)."""
    text = redact(text, hide)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """The server's Retry-After, in seconds (it may give seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def status_details(
    status: int, body: str, headers: Mapping[str, str], now: datetime, hide: Iterable[str] = ()
) -> dict[str, object]:
    details: dict[str, object] = {"status": status, "body_excerpt": excerpt(body, hide)}
    wait = retry_after_seconds(headers, now)
    if wait is not None:
        details["retry_after_seconds"] = wait
    return details
