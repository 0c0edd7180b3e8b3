"""The clock port: the only way the application learns the time or waits."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring intervals; only the
        difference between two readings means anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock may return at once after advancing itself."""
        ...
