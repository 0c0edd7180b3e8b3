"""Requests per second per trigger, counted in this process by token buckets.

Each API process keeps its own buckets, so N processes accept up to N times a trigger's
rate between them; the limit protects a process and the database from a flood, it is not
an exact quota. Time comes in as an argument (seconds, monotonic or not).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from application.errors import ApplicationError

MAX_BUCKETS = 10_000
"""Triggers remembered at once; the least recently used is forgotten (and starts full)."""


class TooManyRequests(ApplicationError):
    """This trigger received more requests per second than it accepts: retry later."""

    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """A bucket per key holding up to `rate` tokens (one second's worth, at least one),
    refilled at `rate` per second; each request takes one."""

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._max = max_buckets

    def take(self, key: str, rate: float, now: float) -> None:
        """Take a token for `key`, or raise `TooManyRequests` saying when one will be back."""
        capacity = max(rate, 1.0)
        bucket = self._buckets.pop(key, None) or _Bucket(capacity, now)
        elapsed = max(now - bucket.at, 0.0)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1.0:
            raise TooManyRequests(max(1, math.ceil((1.0 - bucket.tokens) / rate)))
        bucket.tokens -= 1.0
