"""The in-memory execution pruner: the same rules as the PostgreSQL one, over the store's dicts."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from adapters.memory.store import InMemoryStore
from application.ports.maintenance import FamilyPosition, PrunedBatch
from domain.execution import Execution
from domain.retention import ExpiryCutoffs


class InMemoryExecutionPruner:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._turn = asyncio.Lock()

    async def count_prunable(self, finished_before: datetime) -> int:
        async with self._store.lock:
            return len(self._tops(ExpiryCutoffs.uniform(finished_before), None))

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        batch = await self.delete_expired(ExpiryCutoffs.uniform(finished_before), limit)
        return sum(batch.deleted.values())

    async def delete_expired(
        self,
        cutoffs: ExpiryCutoffs,
        limit: int,
        workspace_id: str | None = None,
        after: FamilyPosition | None = None,
    ) -> PrunedBatch:
        async with self._store.lock:
            children = self._children_by_parent()
            deleted: Counter[str] = Counter()
            tops = [
                top
                for top in self._tops(cutoffs, workspace_id)
                if after is None or _position(top) > after
            ][:limit]
            for top in tops:
                family = self._family(top, children)
                if any(not member.status.is_terminal for member in family):
                    continue  # a member still runs: the family waits for a later pass
                for member in family:
                    self._delete(member.id)
                    deleted[str(member.status)] += 1
            resume_after = _position(tops[-1]) if len(tops) == limit else None
            return PrunedBatch(dict(deleted), resume_after)

    async def delete_audit_before(self, workspace_id: str, before: datetime, limit: int) -> int:
        async with self._store.lock:
            entries = self._store.audit
            doomed = sorted(
                (e for e in entries if e.workspace_id == workspace_id and e.at < before),
                key=lambda entry: (entry.at, entry.id or 0),
            )[:limit]
            gone = {id(entry) for entry in doomed}
            entries[:] = [entry for entry in entries if id(entry) not in gone]
            return len(doomed)

    async def delete_idle_flow_keys(self, windows_before: datetime, limit: int) -> int:
        async with self._store.lock:
            slots, windows = self._store.slots, self._store.rate_windows
            idle = [key for key, running in slots.items() if running == 0][:limit]
            old = [key for key, (start, _) in windows.items() if start < windows_before][:limit]
            for key in idle:
                del slots[key]
            for key in old:
                del windows[key]
            return len(idle) + len(old)

    @asynccontextmanager
    async def maintenance_turn(self) -> AsyncIterator[bool]:
        if self._turn.locked():
            yield False
            return
        async with self._turn:
            yield True

    def _tops(self, cutoffs: ExpiryCutoffs, workspace_id: str | None) -> list[Execution]:
        executions = self._store.executions
        active_parents = {
            run.parent.execution_id
            for run in executions.values()
            if run.parent is not None and not run.status.is_terminal
        }
        found = [
            run
            for run in executions.values()
            if cutoffs.expired(run.status, run.finished_at)
            and (workspace_id is None or run.workspace_id == workspace_id)
            and (run.parent is None or run.parent.execution_id not in executions)
            and run.id not in active_parents
        ]
        return sorted(found, key=_position)

    def _children_by_parent(self) -> dict[str, list[Execution]]:
        children: dict[str, list[Execution]] = defaultdict(list)
        for run in self._store.executions.values():
            if run.parent is not None:
                children[run.parent.execution_id].append(run)
        return children

    def _family(self, top: Execution, children: dict[str, list[Execution]]) -> list[Execution]:
        family, pending = [], [top]
        while pending:
            member = pending.pop()
            family.append(member)
            pending.extend(children.get(member.id, ()))
        return family

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


def _position(execution: Execution) -> FamilyPosition:
    return execution.created_at, execution.id
