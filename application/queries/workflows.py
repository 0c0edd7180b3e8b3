"""Reading workflows and their versions."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.queries.pagination import Page, decode_cursor, encode_cursor
from application.records import Workflow, WorkflowVersion

_CURSOR = "workflows"


@dataclass(frozen=True)
class WorkflowWithVersion:
    workflow: Workflow
    version: WorkflowVersion


async def owned_workflow(uow: UnitOfWork, workspace_id: str, workflow_id: str) -> Workflow:
    found = await uow.workflows.get(workspace_id, workflow_id)
    if found is None:
        raise NotFound(f"no workflow {workflow_id} in this workspace")
    return found


class WorkflowQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def page(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        include_archived: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Workflow]:
        """By name; `name` matches any part of it. Archived ones are left out unless asked."""
        after = str(decode_cursor(_CURSOR, cursor).get("id", "")) if cursor else None
        async with self._uow() as uow:
            rows = await uow.workflows.search(workspace_id, name=name, limit=limit + 1, after=after)
        page, more = rows[:limit], len(rows) > limit
        # The cursor follows the last row read, so filtering archived ones never loses rows.
        next_cursor = encode_cursor(_CURSOR, {"id": page[-1].id}) if more and page else None
        items = [w for w in page if include_archived or not w.archived]
        return Page(items, next_cursor)

    async def get(
        self, workspace_id: str, workflow_id: str, version: int | None = None
    ) -> WorkflowWithVersion:
        """The workflow with the given version of its definition (the latest by default)."""
        async with self._uow() as uow:
            workflow = await owned_workflow(uow, workspace_id, workflow_id)
            number = workflow.latest_version if version is None else version
            found = await uow.workflows.get_version(workflow.id, number)
        if found is None:
            raise NotFound(f"workflow {workflow_id} has no version {number}")
        return WorkflowWithVersion(workflow, found)

    async def versions(self, workspace_id: str, workflow_id: str) -> list[WorkflowVersion]:
        """Newest first."""
        async with self._uow() as uow:
            workflow = await owned_workflow(uow, workspace_id, workflow_id)
            found = await uow.workflows.list_versions(workflow.id)
        return sorted(found, key=lambda v: v.version, reverse=True)
