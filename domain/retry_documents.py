"""Reading a retry policy from its JSON form (durations in seconds) and writing it back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from domain.field_reader import FieldReader
from domain.policies import RetryPolicy
from domain.problems import Problem, join_path, seconds_to_timedelta, show

CODE = "invalid_retry_policy"
RETRY_FIELDS = (
    "max_attempts",
    "initial_interval",
    "backoff_coefficient",
    "max_interval",
    "jitter",
    "non_retryable",
)


def read_retry_policy(
    raw: Any, path: str, base: RetryPolicy, problems: list[Problem]
) -> RetryPolicy:
    """The policy at `path`: fields it leaves out come from `base`; problems go to `problems`."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(CODE, path, f"retry must be a JSON object, not {show(raw)}."))
        return base
    reader = FieldReader(raw, path, CODE, problems=problems)
    reader.reject_unknown(RETRY_FIELDS)
    attempts = reader.integer("max_attempts", minimum=1)
    initial = reader.duration("initial_interval")
    coefficient = reader.number("backoff_coefficient", minimum=1)
    maximum = reader.duration("max_interval")
    jitter = reader.number("jitter", minimum=0, maximum=1)
    policy = RetryPolicy(
        max_attempts=attempts if isinstance(attempts, int) else base.max_attempts,
        initial_interval=_interval(initial, base.initial_interval),
        backoff_coefficient=(
            coefficient if isinstance(coefficient, float) else base.backoff_coefficient
        ),
        max_interval=_interval(maximum, base.max_interval),
        jitter=jitter if isinstance(jitter, float) else base.jitter,
        non_retryable=_error_kinds(reader, base.non_retryable),
    )
    # A bad interval is already reported; comparing the fallback used for it adds only noise.
    interval_paths = {reader.path("initial_interval"), reader.path("max_interval")}
    intervals_read = not any(problem.path in interval_paths for problem in problems)
    if intervals_read and policy.max_interval < policy.initial_interval:
        message = (
            f"max_interval ({policy.max_interval.total_seconds():g} s) must be at least"
            f" initial_interval ({policy.initial_interval.total_seconds():g} s); raise it."
        )
        reader.report("max_interval", message)
    return policy


def retry_policy_to_document(policy: RetryPolicy) -> dict[str, Any]:
    return {
        "max_attempts": policy.max_attempts,
        "initial_interval": policy.initial_interval.total_seconds(),
        "backoff_coefficient": policy.backoff_coefficient,
        "max_interval": policy.max_interval.total_seconds(),
        "jitter": policy.jitter,
        "non_retryable": sorted(policy.non_retryable),
    }


def _interval(seconds: float | str | None, default: timedelta) -> timedelta:
    return seconds_to_timedelta(seconds) if isinstance(seconds, float) else default


def _error_kinds(reader: FieldReader, default: frozenset[str]) -> frozenset[str]:
    kinds = reader.raw.get("non_retryable")
    if kinds is None:
        return default
    if not isinstance(kinds, list):
        message = f"non_retryable must be a list of error kinds, not {show(kinds)}."
        reader.report("non_retryable", message)
        return default
    for index, kind in enumerate(kinds):
        if not isinstance(kind, str) or not kind.strip():
            where = join_path(reader.path("non_retryable"), index)
            message = f"Each non_retryable entry must be an error kind name, not {show(kind)}."
            reader.problems.append(Problem(CODE, where, message))
    return frozenset(kind for kind in kinds if isinstance(kind, str))
