"""Retrying what the API could not answer for now, shared by both clients: a 429 (over a
rate limit), a 503 (the database is down) or a connection that failed or dropped.

Only a request that is safe to send twice is retried: GET, HEAD, OPTIONS, PUT and
DELETE, and a POST that carries an idempotency key for everything it creates (`run`
with `idempotency_key=`, `run_many` when every run has one). Any other POST (creating a
workflow, a signal, a cancel...) might have taken effect before the answer was lost, so
repeating it could do it twice: its error is raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from treadle_client.errors import TreadleError

REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Retries:
    """How a client retries: `Client(url, token, retries=Retries(max_attempts=6))`;
    `retries=None` never retries.

    The wait before each retry is the response's `Retry-After` when it has one, else an
    exponential backoff with jitter: the n-th retry waits between half and all of
    `backoff * 2**(n-1)`, at most `max_backoff`. No retry starts whose wait would end
    more than `budget` seconds after the first attempt: the last error is raised instead.
    """

    max_attempts: int = 4
    """Attempts in all, the first one included (1: never retry)."""
    backoff: float = 0.5
    """Seconds before the first retry when the API did not say (doubled for each next)."""
    max_backoff: float = 10.0
    """The longest backoff (a `Retry-After` is honoured even when longer)."""
    budget: float = 30.0
    """Seconds from the first attempt within which every retry must start."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.backoff, self.max_backoff, self.budget) < 0:
            raise ValueError("backoff, max_backoff and budget cannot be negative")

    def backoff_before(self, retry: int, draw: Callable[[], float] = random.random) -> float:
        """The wait before the `retry`-th retry (from 1) when the API named none: jittered
        so that many clients refused at once do not all come back at once."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + draw() * ceiling / 2


DEFAULT_RETRIES = Retries()


def worth_retrying(error: TreadleError) -> bool:
    """An error that may go away by itself: no connection, a rate limit, an outage."""
    return error.status is None or error.status in RETRIED_STATUSES


class Attempts:
    """The attempts of one request: whether and how long to wait before the next."""

    def __init__(
        self, retries: Retries | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._retries = retries
        self._clock = clock
        self._started = clock()
        self._made = 1

    def wait_before_retrying(self, error: TreadleError) -> float | None:
        """Seconds to wait before the next attempt after `error`; None to give up (the
        error is not worth retrying, or attempts or the budget are used up)."""
        retries = self._retries
        if retries is None or not worth_retrying(error) or self._made >= retries.max_attempts:
            return None
        wait = error.retry_after
        if wait is None:
            wait = retries.backoff_before(self._made)
        if self._clock() - self._started + wait > retries.budget:
            return None
        self._made += 1
        return wait
