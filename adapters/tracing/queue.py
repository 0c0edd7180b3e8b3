"""A work queue whose claims are traced: a `treadle.worker.claim` span for each claim that
leased something (an empty poll records nothing, or an idle worker would fill the
tracing backend with them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from application.ports.clock import Clock
from application.ports.queue import WorkQueue
from application.ports.tracing import Tracer
from application.records import Lease
from application.tracing import CLAIM_SPAN


class TracedQueue:
    """Delegates to `inner`; times each claim and records the ones that leased work."""

    def __init__(self, inner: WorkQueue, tracer: Tracer, clock: Clock) -> None:
        self._inner = inner
        self._tracer = tracer
        self._clock = clock

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        asked_at = self._clock.now()
        leases = await self._inner.claim(worker_id, limit, lease_for)
        if leases:
            attributes: dict[str, str | int] = {
                "treadle.worker.id": worker_id,
                "treadle.claim.limit": limit,
                "treadle.claim.leased": len(leases),
            }
            span = self._tracer.start_span(CLAIM_SPAN, attributes=attributes, start_time=asked_at)
            span.end()
        return leases

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        return await self._inner.heartbeat(leases, lease_for)

    async def release(self, lease: Lease) -> None:
        await self._inner.release(lease)

    async def wait_for_work(self, timeout: float) -> bool:
        return await self._inner.wait_for_work(timeout)

    async def next_wake_in(self, max_seconds: float) -> float:
        return await self._inner.next_wake_in(max_seconds)
