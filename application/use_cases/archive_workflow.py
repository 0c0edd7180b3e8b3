"""Archive a workflow: it can no longer be run or scheduled; its history stays readable."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import NotFound
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow


@dataclass(frozen=True)
class ArchiveWorkflow:
    workspace_id: str
    workflow_id: str
    actor: Actor = SYSTEM


class ArchiveWorkflowHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: ArchiveWorkflow) -> Workflow:
        async with self._uow() as uow:
            workflow = await uow.workflows.get(command.workspace_id, command.workflow_id)
            if workflow is None:
                raise NotFound(f"no workflow {command.workflow_id} in this workspace")
            if workflow.archived:
                return workflow
            archived = replace(workflow, archived=True, updated_at=self._clock.now())
            await uow.workflows.save(archived)
            await record_change(
                uow,
                command.workspace_id,
                archived.updated_at,
                command.actor,
                AuditAction.WORKFLOW_ARCHIVED,
                workflow.id,
                {"name": workflow.name},
            )
            await uow.commit()
        return archived
