"""Clocks: the system clock for production, a fake clock that tests drive by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The machine's clocks: UTC wall time, the monotonic clock and the event loop's sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; `sleep` advances it instead of waiting.

    Its monotonic reading moves with `advance` alone, by as much as the wall time does.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float = 0.0, *, to: datetime | None = None) -> datetime:
        before = self._now
        if to is not None:
            self._now = max(self._now, to)
        else:
            self._now += timedelta(seconds=seconds)
        # A wall clock set back (a test of clock skew) does not move the monotonic one back.
        self._elapsed += max((self._now - before).total_seconds(), 0.0)
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
