"""The audit log, in memory: a list in the order entries were added."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.repositories.base import Repo
from application.audit import AuditEntry, AuditFilter


class MemoryAudit(Repo):
    async def add(self, entry: AuditEntry) -> None:
        self.journal.append(self.store.audit, self.store.numbered(entry))

    async def search(
        self,
        workspace_id: str,
        where: AuditFilter,
        *,
        limit: int = 50,
        before: tuple[datetime, int] | None = None,
    ) -> list[AuditEntry]:
        found = [
            entry
            for entry in self.store.audit
            if entry.workspace_id == workspace_id
            and _matches(entry, where)
            and (before is None or _position(entry) < before)
        ]
        found.sort(key=_position, reverse=True)
        return found[:limit]


def _position(entry: AuditEntry) -> tuple[datetime, int]:
    return entry.at, entry.id or 0


def _matches(entry: AuditEntry, where: AuditFilter) -> bool:
    return (
        (where.action is None or entry.action == where.action)
        and (where.object_type is None or entry.object_type == where.object_type)
        and (where.object_id is None or entry.object_id == where.object_id)
        and (where.actor_id is None or entry.actor.id == where.actor_id)
        and (where.since is None or entry.at >= where.since)
        and (where.until is None or entry.at < where.until)
    )
