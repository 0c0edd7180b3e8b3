"""Flow control declared in a workflow's settings: how many of its executions may run at
once (`concurrency`) and how many may start per period (`rate_limit`), each per key.

A key is an expression over the run's input (`input.customer_id`); without one, the
limit is per workflow. An execution takes its place when a worker first opens it: it
holds a concurrency slot from then until it ends (parked on a timer or a signal too),
and counts in the rate window in which it started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.field_reader import FieldReader
from domain.problems import Problem

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100_000
NO_KEY = ""
"""The key of a limit declared without one: one count for the whole workflow."""


@dataclass(frozen=True)
class ConcurrencyLimit:
    """At most `limit` executions of the workflow in progress at once per `key` value."""

    limit: int
    key: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` executions of the workflow started per `period` per `key` value."""

    limit: int
    period: timedelta
    key: str | None = None


MAX_RATE_PERIOD = timedelta(days=30)
"""The longest rate-limit period: a rate window that started longer ago than this is over
for every workflow, and its row may go."""


def rate_window(now: datetime, period: timedelta) -> tuple[datetime, datetime]:
    """The fixed window of length `period` (counted from the Unix epoch) holding `now`."""
    index = (now - _EPOCH) // period
    start = _EPOCH + index * period
    return start, start + period


def concurrency_reason(key: str, running: int, limit: int) -> dict[str, Any]:
    """Why an execution waits for a concurrency slot (shown by the API and the console)."""
    return {"kind": "concurrency", "key": key, "running": running, "limit": limit}


def rate_reason(key: str, until: datetime) -> dict[str, Any]:
    """Why an execution waits for the next rate window."""
    return {"kind": "rate_limit", "key": key, "until": until.isoformat()}


def describe_reason(reason: Mapping[str, Any] | None) -> str | None:
    """A waiting reason as a sentence: `waiting for a concurrency slot (key acme: 3 of 3
    running)`, `rate limited until 2030-01-01T09:00:00+00:00`."""
    if not reason:
        return None
    key = reason.get("key") or ""
    named = f"key {key}: " if key else ""
    if reason.get("kind") == "concurrency":
        running, limit = reason.get("running"), reason.get("limit")
        return f"waiting for a concurrency slot ({named}{running} of {limit} running)"
    if reason.get("kind") == "rate_limit":
        scope = f" (key {key})" if key else ""
        return f"rate limited until {reason.get('until')}{scope}"
    return None


def read_concurrency(raw: Any, path: str, problems: list[Problem]) -> ConcurrencyLimit | None:
    """`settings.concurrency`: `{"limit": N, "key": "<expression over input>"}`."""
    reader = _reader(raw, path, problems)
    if reader is None:
        return None
    reader.reject_unknown(("limit", "key"))
    limit = _limit(reader)
    key = reader.text("key")
    if limit is None:
        return None
    return ConcurrencyLimit(limit, key)


def read_rate_limit(raw: Any, path: str, problems: list[Problem]) -> RateLimit | None:
    """`settings.rate_limit`: `{"limit": N, "period_seconds": S, "key": "<expression>"}`."""
    reader = _reader(raw, path, problems)
    if reader is None:
        return None
    reader.reject_unknown(("limit", "period_seconds", "key"))
    limit = _limit(reader)
    period = reader.number("period_seconds", minimum=1, maximum=MAX_RATE_PERIOD.total_seconds())
    if not reader.has("period_seconds"):
        reader.report("period_seconds", "Add the required field 'period_seconds'.")
    key = reader.text("key")
    if limit is None or not isinstance(period, float):
        return None
    return RateLimit(limit, timedelta(seconds=period), key)


def limit_to_document(limit: ConcurrencyLimit | RateLimit) -> dict[str, Any]:
    """The settings document of a limit, as `read_concurrency`/`read_rate_limit` read it."""
    document: dict[str, Any] = {"limit": limit.limit}
    if isinstance(limit, RateLimit):
        document["period_seconds"] = limit.period.total_seconds()
    if limit.key is not None:
        document["key"] = limit.key
    return document


def _reader(raw: Any, path: str, problems: list[Problem]) -> FieldReader | None:
    if not isinstance(raw, Mapping):
        example = '{"limit": 2, "key": "input.customer_id"}'
        problems.append(Problem("invalid_type", path, f"{path} must be an object like {example}."))
        return None
    return FieldReader(raw, path, "invalid_type", problems=problems)


def _limit(reader: FieldReader) -> int | None:
    if not reader.has("limit"):
        reader.report("limit", "Add the required field 'limit'.")
        return None
    value = reader.integer("limit", minimum=1, maximum=MAX_LIMIT)
    return value if isinstance(value, int) else None
