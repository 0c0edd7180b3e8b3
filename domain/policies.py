"""Retry and timeout policies: pure decisions over attempts, errors and a given `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing node is tried again.

    `jitter` is a fraction (0 to 1) of the computed interval that a random value,
    supplied by the caller, may shave off: the wait is never longer than the backoff.
    """

    max_attempts: int = 3
    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    max_interval: timedelta = timedelta(seconds=60)
    jitter: float = 0.0
    non_retryable: frozenset[str] = field(default_factory=frozenset)

    def backoff(self, attempt: int, rng_value: float = 0.0) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based)."""
        ceiling = self.max_interval.total_seconds()
        try:
            raw = self.initial_interval.total_seconds() * self.backoff_coefficient ** (attempt - 1)
        except OverflowError:  # huge coefficients or attempt counts: the cap applies anyway
            raw = ceiling
        capped = min(raw, ceiling)
        shaved = capped * (1.0 - self.jitter * min(max(rng_value, 0.0), 1.0))
        return timedelta(seconds=shaved)

    def decide(self, attempt: int, error: NodeError, rng_value: float = 0.0) -> RetryDecision:
        """Whether failed attempt `attempt` is tried again, and after how long."""
        if not error.retryable or error.kind in self.non_retryable:
            return GiveUp(reason="non_retryable")
        if attempt >= self.max_attempts:
            return GiveUp(reason="attempts_exhausted")
        delay = self.backoff(attempt, rng_value)
        asked = error.asked_delay()
        if asked is not None:
            # The server said when to come back (Retry-After): wait at least that long,
            # but never past the policy's longest wait.
            delay = max(delay, min(asked, self.max_interval))
        return RetryAfter(delay=delay)


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class NodeError:
    """What went wrong in one attempt of a node's body."""

    kind: str
    message: str
    retryable: bool = True
    details: dict[str, object] | None = None

    def asked_delay(self) -> timedelta | None:
        """The wait the failing service asked for (`details.retry_after_seconds`), if any."""
        value = (self.details or {}).get("retry_after_seconds")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return None
        return timedelta(seconds=min(float(value), 10 * 365 * 86400))

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> NodeError:
        details = data.get("details")
        return cls(
            kind=str(data.get("kind", "error")),
            message=str(data.get("message", "")),
            retryable=bool(data.get("retryable", True)),
            details=dict(details) if isinstance(details, dict) else None,
        )


@dataclass(frozen=True)
class RetryAfter:
    delay: timedelta


@dataclass(frozen=True)
class GiveUp:
    reason: str


RetryDecision = RetryAfter | GiveUp


def node_deadline(started_at: datetime, timeout: timedelta | None) -> datetime | None:
    """When an attempt started at `started_at` must have closed."""
    return None if timeout is None else started_at + timeout


def execution_deadline(created_at: datetime, timeout: timedelta | None) -> datetime | None:
    """When an execution created at `created_at` times out as a whole."""
    return None if timeout is None else created_at + timeout


def is_past(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now >= deadline
