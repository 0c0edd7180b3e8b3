"""The in-memory work queue: leases with fencing tokens over InMemoryStore's executions.

Each queue stands for one worker process. It is a member of its store from its creation to
`close()`, as a PostgreSQL worker is while its membership lock is held; closing it frees the
leases it took at once, as the other workers do when a worker's session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from adapters.memory.store import InMemoryStore, LeaseRow
from application.records import Lease
from domain.execution import Execution
from domain.status import ExecutionStatus

_MEMBER_KEYS = itertools.count(1)


class InMemoryWorkQueue:
    def __init__(
        self,
        store: InMemoryStore,
        queues: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """With `queues`, this worker claims only executions put on those queues; without,
        from every queue. With `kinds`, only executions whose installed kinds are all among
        them; without, any."""
        self.store = store
        """The store this queue leases from (other queues may share it)."""
        self._queues = frozenset(queues) if queues else None
        self._kinds = frozenset(kinds) if kinds is not None else None
        self._member = next(_MEMBER_KEYS)
        store.members.add(self._member)

    async def close(self) -> None:
        """This worker's process ends: it leaves the members, and the executions it held
        become claimable at once, without waiting for their leases to lapse."""
        async with self.store.lock:
            self.store.members.discard(self._member)
            now = self.store.clock.now()
            held = [
                row
                for row in self.store.leases.values()
                if row.member == self._member
                and row.expires_at is not None
                and row.expires_at > now
            ]
            for row in held:
                row.expires_at = now
            if held:
                self.store.work_available.set()

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        async with self.store.lock:
            now = self.store.clock.now()
            due = [e for e in self.store.executions.values() if self._claimable(e, now)]
            due.sort(key=lambda e: (-e.priority, e.wake_at or e.created_at, e.created_at, e.id))
            return [self._lease(e.id, worker_id, now + lease_for) for e in due[:limit]]

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        async with self.store.lock:
            now = self.store.clock.now()
            kept = []
            for lease in leases:
                row = self.store.leases[lease.execution_id]
                alive = row.expires_at is not None and row.expires_at > now
                if row.token == lease.token and row.owner == lease.worker_id and alive:
                    row.expires_at = now + lease_for
                    execution = self.store.executions[lease.execution_id]
                    kept.append(
                        replace(
                            lease,
                            expires_at=row.expires_at,
                            cancel_requested=execution.cancel_requested,
                        )
                    )
            return kept

    async def release(self, lease: Lease) -> None:
        async with self.store.lock:
            row = self.store.leases[lease.execution_id]
            if row.token == lease.token and row.owner == lease.worker_id:
                row.owner, row.expires_at = None, None
                self.store.work_available.set()

    async def wait_for_work(self, timeout: float) -> bool:
        event = self.store.work_available
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        woke = event.is_set()
        event.clear()
        return woke

    async def next_wake_in(self, max_seconds: float) -> float:
        now = self.store.clock.now()
        wakes = [
            e.wake_at
            for e in self.store.executions.values()
            if e.wake_at is not None and not e.status.is_terminal and self._serves(e)
        ]
        wakes += [
            r.expires_at
            for execution_id, r in self.store.leases.items()
            if r.expires_at is not None and self._serves(self.store.executions.get(execution_id))
        ]
        future = [(w - now).total_seconds() for w in wakes if w > now]
        return min([max_seconds, *future])

    def expire_leases(self) -> None:
        """Inspection helper: make every lease lapse now, as if every worker had died."""
        for row in self.store.leases.values():
            if row.expires_at is not None:
                row.expires_at = self.store.clock.now()

    def _claimable(self, execution: Execution, now: datetime) -> bool:
        row = self.store.leases.get(execution.id)
        leased = row is not None and row.expires_at is not None and row.expires_at > now
        if leased or execution.status.is_terminal or not self._serves(execution):
            return False
        if execution.status is ExecutionStatus.RUNNING:
            return True
        if execution.status is ExecutionStatus.WAITING:
            return execution.wake_at is not None and execution.wake_at <= now
        return execution.wake_at is None or execution.wake_at <= now

    def _serves(self, execution: Execution | None) -> bool:
        if execution is None:
            return False
        if self._kinds is not None and not self._kinds.issuperset(execution.required_kinds):
            return False
        return self._queues is None or execution.queue in self._queues

    def _lease(self, execution_id: str, worker_id: str, expires_at: datetime) -> Lease:
        row = self.store.leases[execution_id]
        token = row.token + 1
        self.store.leases[execution_id] = LeaseRow(worker_id, token, expires_at, self._member)
        return Lease(execution_id, worker_id, token, expires_at)
