"""One exception for everything the API refuses: `TreadleError`, with the API's stable
`code`, its `message`, its `details` and the HTTP status; a subclass per common status."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec


class TreadleError(Exception):
    """The API answered an error (or could not be reached: `status` is None then)."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: list[Any] = details or []
        self.retry_after = retry_after
        """Seconds to wait before retrying, when the API said (429 and 503)."""


class BadRequest(TreadleError):
    """400: malformed JSON, an unknown field, a wrong type, a bad cursor."""


class Unauthenticated(TreadleError):
    """401: no token, or an unknown or revoked one."""


class Forbidden(TreadleError):
    """403: the token's role may not do this."""


class NotFound(TreadleError):
    """404: no such resource in the token's workspace."""


class Conflict(TreadleError):
    """409: e.g. a duplicate name, cancelling a finished execution."""


class InvalidInput(TreadleError):
    """422: well-formed but not acceptable; `details` lists each problem with its path."""


class TooManyRequests(TreadleError):
    """429: over a rate limit; see `retry_after`."""


class Unavailable(TreadleError):
    """503: the database is down or its schema out of date; see `retry_after`."""


class ConnectionFailed(TreadleError):
    """The API could not be reached, or the connection dropped (no status)."""


_BY_STATUS: dict[int, type[TreadleError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: TooManyRequests,
    503: Unavailable,
}


class _Detail(msgspec.Struct):
    code: str
    message: str
    details: list[Any] = []


class _Body(msgspec.Struct):
    error: _Detail


def error_of(response: httpx.Response) -> TreadleError:
    """The exception for an error response (its body must have been read)."""
    status = response.status_code
    kind = _BY_STATUS.get(status, TreadleError)
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    try:
        body = msgspec.json.decode(response.content, type=_Body).error
    except msgspec.DecodeError:
        text = " ".join(response.text.split())[:500] or response.reason_phrase
        return kind(status, "http_error", text, [], retry_after)
    return kind(status, body.code, body.message, body.details, retry_after)


def connection_failed(error: httpx.TransportError) -> ConnectionFailed:
    return ConnectionFailed(None, "connection_failed", str(error) or type(error).__name__)


def retry_after_seconds(value: str | None) -> float | None:
    """The seconds a `Retry-After` header asks to wait: it holds either a number of seconds
    or an HTTP date; None when it holds neither (or is absent)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT, whether or not it says so
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
