"""A work queue whose claims are traced: a `treadle.worker.claim` span for each claim that
leased something (an empty poll records nothing, or an idle worker would fill the
tracing backend with them)."""

from __future__ import annotations

from datetime import timedelta

from application.delegating_queue import DelegatingQueue
from application.ports.clock import Clock
from application.ports.queue import WorkQueue
from application.ports.tracing import Tracer
from application.records import Lease
from application.tracing import CLAIM_SPAN


class TracedQueue(DelegatingQueue):
    """Delegates to `inner`; times each claim and records the ones that leased work."""

    def __init__(self, inner: WorkQueue, tracer: Tracer, clock: Clock) -> None:
        super().__init__(inner)
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
