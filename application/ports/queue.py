"""The work queue port: leases on claimable executions, and wake-ups when work may exist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from application.records import Lease


class WorkQueue(Protocol):
    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        """Lease up to `limit` claimable executions, each under a new fencing token.

        Claimable: pending and due; waiting whose wake time has passed; running whose
        lease expired. No execution is ever leased to two workers at once.

        A lease taken by a worker process that has since ended (its queue's membership is
        gone: killed, or closed) is expired by the workers still there within about a
        second, without waiting for it to lapse; a live worker's leases, even a frozen
        one's, lapse only with time.
        """
        ...

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        """Extend the leases still held; a lease missing from the answer was lost."""
        ...

    async def release(self, lease: Lease) -> None:
        """Give up a lease without changing the execution (it becomes claimable by status)."""
        ...

    async def wait_for_work(self, timeout: float) -> bool:
        """Wait until new or newly due work may exist (a notification, or the executions of a
        worker that ended were freed), or `timeout` seconds pass."""
        ...

    async def next_wake_in(self, max_seconds: float) -> float:
        """Seconds until the earliest known future wake time, capped at `max_seconds`."""
        ...
