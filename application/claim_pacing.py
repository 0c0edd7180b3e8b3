"""When a worker claims next, and when it looks up the next wake time again."""

from __future__ import annotations

import math
from dataclasses import dataclass

from application.ports.clock import Clock


@dataclass(frozen=True)
class PacingSettings:
    claim_window: float
    claim_backoff_max: float
    timer_recheck_delay: float


class ClaimPacing:
    """When to claim next and when to look up the next wake time again.

    Every notification wakes every worker, so most claims a notification triggers find
    nothing when several workers run. A claim runs at once when the worker is idle and its
    last notified claim found work (pickup latency); while executions are in flight, claims
    are spaced by `claim_window` so one claim serves many freed slots; each notified claim
    that finds nothing doubles the spacing, up to `claim_backoff_max`. A claim at once that
    finds work, or a spaced one that finds more than one run, resets it; a spaced claim that
    finds exactly one keeps it, so with several idle workers one answers notifications at
    once and the others sweep behind it instead of racing it for every run.

    The next wake time is looked up when the last answer (at most the poll interval) runs
    out, and `timer_recheck_delay` after a notified claim that found less than it asked
    for: the notification may have announced a run parked until later.
    """

    def __init__(self, settings: PacingSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._backoff = 0.0
        self._last_claim = -math.inf
        self._timer_due: float | None = None

    def _now(self) -> float:
        return self._clock.monotonic()

    def claim_delay(self, *, busy: bool) -> float:
        gap = max(self._backoff, self._settings.claim_window if busy else 0.0)
        return max(0.0, self._last_claim + gap - self._now())

    def claimed(self, *, asked: int, got: int, notified: bool) -> None:
        now = self._now()
        self._last_claim = now
        if not notified:
            return  # a freed slot or a timer: says nothing about other workers
        if got == 0:
            self._backoff = min(
                max(2 * self._backoff, self._settings.claim_window),
                self._settings.claim_backoff_max,
            )
        elif self._backoff == 0.0 or got > 1:
            # Won the race for a notification, or work piled up while this worker waited
            # (nobody else answers promptly): answer notifications at once again.
            self._backoff = 0.0
        # A spaced claim that found one run keeps its spacing: another worker answers the
        # notifications, and this one sweeps up what arrives while that one is busy.
        if got < asked:
            # What woke us may have been a run parked until later: learn its wake time soon,
            # but not on the pickup's critical path, and at most once per delay.
            recheck = now + self._settings.timer_recheck_delay
            if self._timer_due is None or recheck < self._timer_due:
                self._timer_due = recheck

    def timer_remaining(self) -> float | None:
        """Seconds left on the known wake time, or None when it must be looked up."""
        if self._timer_due is None:
            return None
        remaining = self._timer_due - self._now()
        if remaining <= 0:
            self._timer_due = None
            return None
        return remaining

    def timer_known(self, seconds: float) -> None:
        self._timer_due = self._now() + max(seconds, 0.0)
