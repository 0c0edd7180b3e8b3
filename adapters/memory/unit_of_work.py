"""The in-memory unit of work: one transaction at a time, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from adapters.memory import repositories as repos
from adapters.memory.journal import Journal
from adapters.memory.store import InMemoryStore


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._journal = Journal()
        self._notifications: list[tuple[str, Mapping[str, Any]]] = []
        self._committed = False
        self.workflows = repos.MemoryWorkflows(store, self._journal)
        self.executions = repos.MemoryExecutions(store, self._journal)
        self.node_runs = repos.MemoryNodeRuns(store, self._journal)
        self.flow = repos.MemoryFlowControl(store, self._journal)
        self.events = repos.MemoryEvents(store, self._journal)
        self.signals = repos.MemorySignals(store, self._journal)
        self.schedules = repos.MemorySchedules(store, self._journal)
        self.triggers = repos.MemoryTriggers(store, self._journal)
        self.workspaces = repos.MemoryWorkspaces(store, self._journal)
        self.tokens = repos.MemoryTokens(store, self._journal)
        self.secrets = repos.MemorySecrets(store, self._journal)
        self.node_kinds = repos.MemoryNodeKinds(store, self._journal)
        self.audit = repos.MemoryAudit(store, self._journal)
        self.people = repos.MemoryPeople(store, self._journal)
        self.sessions = repos.MemorySessions(store, self._journal)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self._journal.rollback()
        finally:
            self._store.lock.release()
        if self._committed:
            for channel, payload in self._notifications:
                self._store.publish(channel, payload)

    async def commit(self) -> None:
        self._journal.forget()
        self._committed = True

    def commit_without_waiting_for_disk(self) -> None:
        """Memory has no disk to wait for: every commit is as durable as the process."""

    def notify_after_commit(self, channel: str, payload: Mapping[str, Any]) -> None:
        self._notifications.append((channel, payload))


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)
