"""A work queue that passes every call through, for wrappers that observe one call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from application.ports.queue import WorkQueue
from application.records import Lease


class DelegatingQueue:
    """A `WorkQueue` that passes every call to `inner`: the base of the wrappers that
    observe claims (metrics, tracing) and override `claim` alone."""

    def __init__(self, inner: WorkQueue) -> None:
        self._inner = inner

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        return await self._inner.claim(worker_id, limit, lease_for)

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        return await self._inner.heartbeat(leases, lease_for)

    async def release(self, lease: Lease) -> None:
        await self._inner.release(lease)

    async def wait_for_work(self, timeout: float) -> bool:
        return await self._inner.wait_for_work(timeout)

    async def next_wake_in(self, max_seconds: float) -> float:
        return await self._inner.next_wake_in(max_seconds)
