"""Executions in memory: fenced saves, leases as the queue keeps them, look-ups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from adapters.memory.repositories.base import Repo
from adapters.memory.repositories.history import MemoryEvents, MemoryNodeRuns
from application.errors import Conflict, LeaseLost, StaleExecution
from application.ports.unit_of_work import (
    ChildPosition,
    EventBatch,
    FencedSave,
    ItemChild,
    ItemProgress,
    ItemsAt,
    NewExecution,
    StepFailure,
    child_position,
    step_failure_backoff,
)
from application.records import Lease
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus


def waits_for_slot(execution: Execution) -> bool:
    """Parked until a concurrency slot is handed to it (or its deadline passes)."""
    reason = execution.waiting_reason or {}
    return (
        execution.status is ExecutionStatus.WAITING
        and not execution.holds_slot
        and reason.get("kind") == "concurrency"
    )


FAILED_ITEM_STATUSES = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.CANCELLED, ExecutionStatus.TIMED_OUT}
)


class MemoryExecutions(Repo):
    async def add(
        self,
        execution: Execution,
        node_ids: Sequence[str],
        first_events: Sequence[DomainEvent] = (),
    ) -> None:
        parent = execution.parent
        if parent is not None and parent.item_index is not None:
            key = (parent.execution_id, parent.node_id, parent.item_index)
            if key in self.store.items:
                raise Conflict(
                    f"item {parent.item_index} of node {parent.node_id!r} already has a child"
                )
            self.journal.set(self.store.items, key, execution.id)
            self.journal.set(self.store.items_of[key[:2]], parent.item_index, execution.id)
        self.journal.set(self.store.executions, execution.id, execution)
        self.journal.set(self.store.node_runs, execution.id, {n: NodeRun(n) for n in node_ids})
        if first_events:
            events = MemoryEvents(self.store, self.journal)
            await events.append(execution.id, 1, first_events, execution.created_at)

    async def add_many(self, new: Sequence[NewExecution]) -> None:
        for one in new:
            await self.add(one.execution, one.node_ids, one.first_events)

    async def get(self, execution_id: str) -> Execution | None:
        return self.store.executions.get(execution_id)

    async def get_many(self, execution_ids: Sequence[str]) -> dict[str, Execution]:
        found = (self.store.executions.get(execution_id) for execution_id in execution_ids)
        return {execution.id: execution for execution in found if execution is not None}

    async def lock(self, execution_id: str) -> Execution | None:
        return self.store.executions.get(execution_id)

    async def lock_leased(self, leases: Sequence[Lease]) -> dict[str, Execution]:
        now = self.store.clock.now()
        held = {}
        for lease in leases:
            execution = self.store.executions.get(lease.execution_id)
            if execution is not None and self._holds(lease, now):
                held[execution.id] = execution
        return held

    async def lock_leased_with_runs(
        self, leases: Sequence[Lease], runs_of: Sequence[str]
    ) -> tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]:
        held = await self.lock_leased(leases)
        runs = MemoryNodeRuns(self.store, self.journal)
        return held, await runs.get_for([id_ for id_ in runs_of if id_ in held])

    def _holds(self, lease: Lease, now: datetime) -> bool:
        row = self.store.leases[lease.execution_id]
        alive = row.expires_at is not None and row.expires_at > now
        return row.token == lease.token and row.owner == lease.worker_id and alive

    async def save(self, execution: Execution, *, expected_seq: int, lease: Lease | None) -> None:
        stored = self.store.executions.get(execution.id)
        if stored is None:
            raise StaleExecution("the execution no longer exists")
        row = self.store.leases[execution.id]
        if lease is not None and not self._holds(lease, self.store.clock.now()):
            raise LeaseLost()
        if stored.seq != expected_seq:
            raise StaleExecution()
        self.journal.set(self.store.executions, execution.id, execution)
        if lease is not None and execution.status is not ExecutionStatus.RUNNING:
            self.journal.set(
                self.store.leases, execution.id, replace(row, owner=None, expires_at=None)
            )

    async def save_many(self, saves: Sequence[FencedSave]) -> None:
        # A rejected save raises; the unit of work then takes back the ones before it.
        for save in saves:
            await self.save(save.execution, expected_seq=save.expected_seq, lease=save.lease)

    async def save_with_history(
        self,
        saves: Sequence[FencedSave],
        runs: Mapping[str, Sequence[NodeRun]],
        events: Sequence[EventBatch],
        at: datetime,
    ) -> None:
        await self.save_many(saves)
        await MemoryNodeRuns(self.store, self.journal).save_for(runs)
        await MemoryEvents(self.store, self.journal).append_many(events, at)

    async def record_step_failure(
        self, lease: Lease, kind: str, message: str, now: datetime
    ) -> StepFailure | None:
        row = self.store.leases.get(lease.execution_id)
        if row is None or (row.token, row.owner) != (lease.token, lease.worker_id):
            return None
        last = self.store.step_failures.get(lease.execution_id)
        count = last.count + 1 if last is not None and last.kind == kind else 1
        failure = StepFailure(kind, message, count)
        self.journal.set(self.store.step_failures, lease.execution_id, failure)
        retry_at = now + timedelta(seconds=step_failure_backoff(count))
        if row.expires_at is None or retry_at < row.expires_at:
            self.journal.set(
                self.store.leases, lease.execution_id, replace(row, expires_at=retry_at)
            )
        return failure

    async def step_failures_of(self, execution_ids: Sequence[str]) -> dict[str, StepFailure]:
        failures = self.store.step_failures
        return {id_: failures[id_] for id_ in execution_ids if id_ in failures}

    async def clear_step_failures(self, execution_id: str) -> None:
        if execution_id in self.store.step_failures:
            self.journal.delete(self.store.step_failures, execution_id)

    async def find_by_idempotency_key(self, workflow_id: str, key: str) -> Execution | None:
        found = self.store.idempotency.get((workflow_id, key))
        return self.store.executions.get(found) if found else None

    async def remember_idempotency_key(self, workflow_id: str, key: str, execution_id: str) -> None:
        if (workflow_id, key) in self.store.idempotency:
            raise Conflict(f"idempotency key {key!r} is already used")
        self.journal.set(self.store.idempotency, (workflow_id, key), execution_id)

    async def find_child(self, parent_execution_id: str, parent_node_id: str) -> Execution | None:
        for execution in self.store.executions.values():
            parent = execution.parent
            if parent and (parent.execution_id, parent.node_id) == (
                parent_execution_id,
                parent_node_id,
            ):
                return execution
        return None

    async def item_progress(
        self, asked: Sequence[ItemsAt], window: int
    ) -> dict[ItemsAt, ItemProgress]:
        return {at: self._progress(at, window) for at in asked}

    def _progress(self, at: ItemsAt, window: int) -> ItemProgress:
        children = self._items(at.execution_id, at.node_id)
        active = sum(not child.status.is_terminal for child in children)
        failed = [
            child
            for child in children
            if child.index < at.start and child.status in FAILED_ITEM_STATUSES
        ]
        ahead = [child for child in children if at.start <= child.index < at.start + window]
        first = min(failed, key=lambda child: child.index) if failed else None
        return ItemProgress(active, first, tuple(sorted(ahead, key=lambda child: child.index)))

    async def item_outcomes(self, execution_id: str, node_id: str) -> list[ItemChild]:
        return sorted(self._items(execution_id, node_id), key=lambda child: child.index)

    async def next_queued(self, workflow_id: str, key: str) -> Execution | None:
        waiting = [
            execution
            for execution in self.store.executions.values()
            if execution.workflow_id == workflow_id
            and execution.flow_key == key
            and waits_for_slot(execution)
        ]
        return min(waiting, key=lambda e: (e.created_at, e.id), default=None)

    async def active_items(self, execution_id: str, node_id: str) -> list[str]:
        children = self._items(execution_id, node_id)
        return [child.execution_id for child in children if not child.status.is_terminal]

    def _items(self, execution_id: str, node_id: str) -> list[ItemChild]:
        found = self.store.items_of.get((execution_id, node_id), {})
        children = []
        for index, child_id in found.items():
            child = self.store.executions[child_id]
            children.append(ItemChild(index, child_id, child.status, child.output, child.error))
        return children

    async def find_by_schedule_fire(
        self, schedule_id: str, fire_time: datetime
    ) -> Execution | None:
        for execution in self.store.executions.values():
            if execution.schedule_id == schedule_id and execution.scheduled_for == fire_time:
                return execution
        return None

    async def search(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        parent_execution_id: str | None = None,
        created_after: datetime | None = None,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
        after_child: ChildPosition | None = None,
    ) -> list[Execution]:
        found = [
            e
            for e in self.store.executions.values()
            if e.workspace_id == workspace_id
            and (workflow_id is None or e.workflow_id == workflow_id)
            and (not statuses or e.status in statuses)
            and (created_after is None or e.created_at > created_after)
            and (before is None or (e.created_at, e.id) < before)
            and (
                parent_execution_id is None
                or (e.parent is not None and e.parent.execution_id == parent_execution_id)
            )
        ]
        if parent_execution_id is None:
            found.sort(key=lambda e: (e.created_at, e.id), reverse=True)
            return found[:limit]
        found.sort(key=child_position)
        if after_child is not None:
            found = [e for e in found if child_position(e) > after_child]
        return found[:limit]

    async def any_active_for_schedule(self, schedule_id: str) -> bool:
        return any(
            e.schedule_id == schedule_id and not e.status.is_terminal
            for e in self.store.executions.values()
        )
