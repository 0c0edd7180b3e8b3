"""Retention policies in memory: the same answers as the PostgreSQL table gives."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.store import InMemoryStore
from application.audit import AuditEntry
from domain.retention import DEFAULT_POLICY, RetentionPolicy


class InMemoryRetentionPolicies:
    """Policies by workspace, beside a store (whose workspaces get the defaults)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._policies: dict[str, RetentionPolicy] = {}

    async def get(self, workspace_id: str) -> RetentionPolicy | None:
        return self._policies.get(workspace_id)

    async def put(
        self,
        workspace_id: str,
        policy: RetentionPolicy,
        at: datetime,
        change: AuditEntry | None = None,
    ) -> None:
        async with self._store.lock:
            self._policies[workspace_id] = policy
            if change is not None:
                self._store.audit.append(self._store.numbered(change))

    async def list_all(self) -> dict[str, RetentionPolicy]:
        async with self._store.lock:
            # Executions and audit entries may name a workspace that has no row of its
            # own (one the CLI made on the database, a test's): those count too.
            known = {*self._store.workspaces, *self._policies}
            known.update(run.workspace_id for run in self._store.executions.values())
            known.update(entry.workspace_id for entry in self._store.audit)
        return {workspace: self._policies.get(workspace, DEFAULT_POLICY) for workspace in known}
