"""The in-memory execution pruner: the same rules as the PostgreSQL one, over the store's dicts."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.store import InMemoryStore
from domain.execution import Execution


class InMemoryExecutionPruner:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def count_prunable(self, finished_before: datetime) -> int:
        async with self._store.lock:
            return len(self._prunable(finished_before))

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        async with self._store.lock:
            doomed = self._prunable(finished_before)[:limit]
            for execution in doomed:
                self._delete(execution.id)
            return len(doomed)

    def _prunable(self, finished_before: datetime) -> list[Execution]:
        executions = self._store.executions
        active_parents = {
            run.parent.execution_id
            for run in executions.values()
            if run.parent is not None and not run.status.is_terminal
        }
        found = [
            run
            for run in executions.values()
            if run.status.is_terminal
            and run.finished_at is not None
            and run.finished_at < finished_before
            and run.id not in active_parents
            and not self._parent_is_active(run)
        ]
        return sorted(found, key=lambda run: (run.finished_at, run.id))

    def _parent_is_active(self, execution: Execution) -> bool:
        if execution.parent is None:
            return False
        parent = self._store.executions.get(execution.parent.execution_id)
        return parent is not None and not parent.status.is_terminal

    def _delete(self, execution_id: str) -> None:
        store = self._store
        deleted = store.executions.pop(execution_id)
        link = deleted.parent
        if link is not None and link.item_index is not None:
            store.items.pop((link.execution_id, link.node_id, link.item_index), None)
            store.items_of.get((link.execution_id, link.node_id), {}).pop(link.item_index, None)
        for table in (store.leases, store.node_runs, store.events, store.signals):
            table.pop(execution_id, None)
        for key in [key for key, value in store.idempotency.items() if value == execution_id]:
            del store.idempotency[key]
