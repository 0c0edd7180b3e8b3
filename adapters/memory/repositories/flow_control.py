"""Concurrency slots and rate windows in memory (the store's lock serialises transactions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.memory.repositories.base import Repo


class MemoryFlowControl(Repo):
    async def acquire_slot(self, workflow_id: str, key: str, limit: int) -> tuple[bool, int]:
        running = self.store.slots.get((workflow_id, key), 0)
        if running >= limit:
            return False, running
        self.journal.set(self.store.slots, (workflow_id, key), running + 1)
        return True, running + 1

    async def release_slot(self, workflow_id: str, key: str) -> None:
        running = self.store.slots.get((workflow_id, key), 0)
        self.journal.set(self.store.slots, (workflow_id, key), max(running - 1, 0))

    async def lock_keys(
        self, slots: Sequence[tuple[str, str]], rates: Sequence[tuple[str, str]]
    ) -> None:
        """Nothing to do: the store's lock already serialises transactions."""

    async def take_rate(
        self, workflow_id: str, key: str, window_start: datetime, limit: int
    ) -> bool:
        start, started = self.store.rate_windows.get((workflow_id, key), (window_start, 0))
        if start < window_start:
            start, started = window_start, 0
        if started >= limit:
            return False
        self.journal.set(self.store.rate_windows, (workflow_id, key), (start, started + 1))
        return True
