"""Workflows and schedules, in memory."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.repositories.base import Repo
from adapters.memory.store import InMemoryStore
from application.errors import Conflict
from application.records import Schedule, Workflow, WorkflowVersion


class MemoryWorkflows(Repo):
    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None:
        if await self.get_by_name(workflow.workspace_id, workflow.name) is not None:
            raise Conflict(f"a workflow named {workflow.name!r} already exists")
        self.journal.set(self.store.workflows, workflow.id, workflow)
        self.journal.set(self.store.versions, (workflow.id, first_version.version), first_version)

    async def get(self, workspace_id: str, workflow_id: str) -> Workflow | None:
        found = self.store.workflows.get(workflow_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    async def get_by_name(self, workspace_id: str, name: str) -> Workflow | None:
        for workflow in self.store.workflows.values():
            if workflow.workspace_id == workspace_id and workflow.name == name:
                return workflow
        return None

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        if (workflow.id, version.version) in self.store.versions:
            raise Conflict(f"version {version.version} of {workflow.id} already exists")
        self.journal.set(self.store.versions, (workflow.id, version.version), version)
        self.journal.set(self.store.workflows, workflow.id, workflow)

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None:
        return self.store.versions.get((workflow_id, version))

    async def list_versions(self, workflow_id: str) -> list[WorkflowVersion]:
        found = [v for (wf, _), v in self.store.versions.items() if wf == workflow_id]
        return sorted(found, key=lambda v: v.version, reverse=True)

    async def search(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Workflow]:
        found = sorted(
            (
                w
                for w in self.store.workflows.values()
                if w.workspace_id == workspace_id and (name is None or name in w.name)
            ),
            key=lambda w: (w.name, w.id),
        )
        if after is not None:
            found = [w for w in found if (w.name, w.id) > _workflow_key(self.store, after)]
        return found[:limit]

    async def save(self, workflow: Workflow) -> None:
        self.journal.set(self.store.workflows, workflow.id, workflow)


def _workflow_key(store: InMemoryStore, workflow_id: str) -> tuple[str, str]:
    found = store.workflows.get(workflow_id)
    return (found.name, found.id) if found else ("", workflow_id)


class MemorySchedules(Repo):
    async def add(self, schedule: Schedule) -> None:
        self.journal.set(self.store.schedules, schedule.id, schedule)

    async def get(self, workspace_id: str, schedule_id: str) -> Schedule | None:
        found = self.store.schedules.get(schedule_id)
        return found if found and found.workspace_id == workspace_id else None

    async def save(self, schedule: Schedule) -> None:
        self.journal.set(self.store.schedules, schedule.id, schedule)

    async def delete(self, schedule_id: str) -> None:
        self.journal.delete(self.store.schedules, schedule_id)

    async def search(self, workspace_id: str, *, workflow_id: str | None = None) -> list[Schedule]:
        return sorted(
            (
                s
                for s in self.store.schedules.values()
                if s.workspace_id == workspace_id
                and (workflow_id is None or s.workflow_id == workflow_id)
            ),
            key=lambda s: (s.created_at, s.id),
        )

    async def lock_due(self, now: datetime, limit: int) -> list[Schedule]:
        due = [
            s
            for s in self.store.schedules.values()
            if s.enabled and s.next_fire_at is not None and s.next_fire_at <= now
        ]
        return sorted(due, key=lambda s: (s.next_fire_at or now, s.id))[:limit]
