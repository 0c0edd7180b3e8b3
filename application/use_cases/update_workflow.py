"""Save a new immutable version of a workflow; running executions keep theirs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from application.errors import NotFound
from application.ports.clock import Clock
from application.ports.node_kinds import InstalledKinds, NoInstalledKinds
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow, WorkflowVersion
from application.recursion_check import Saving
from application.save_checks import (
    SavedWorkflow,
    check_definition,
    parse_for_save,
    refuse_problems,
)
from domain.validation import definition_to_document


@dataclass(frozen=True)
class UpdateWorkflow:
    workspace_id: str
    workflow_id: str
    definition: Any
    description: str | None = None


class UpdateWorkflowHandler:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, installed: InstalledKinds | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._installed = installed or NoInstalledKinds()

    async def __call__(self, command: UpdateWorkflow) -> Workflow:
        return (await self.save(command)).workflow

    async def save(self, command: UpdateWorkflow) -> SavedWorkflow:
        """Save the new version; raises InvalidDefinition for any problem the checks find."""
        definition = await parse_for_save(self._uow, command.definition)
        now = self._clock.now()
        async with self._uow() as uow:
            workflow = await uow.workflows.get(command.workspace_id, command.workflow_id)
            if workflow is None:
                raise NotFound(f"no workflow {command.workflow_id} in this workspace")
            version = workflow.latest_version + 1
            saving = Saving(workflow.name, workflow.id, version)
            check = await check_definition(
                uow, command.workspace_id, definition, saving, self._installed
            )
            refuse_problems(check)
            updated = replace(
                workflow,
                latest_version=version,
                updated_at=now,
                description=workflow.description
                if command.description is None
                else command.description,
            )
            document = definition_to_document(definition)
            await uow.workflows.add_version(
                updated, WorkflowVersion(workflow.id, version, document, now)
            )
            await uow.commit()
        return SavedWorkflow(updated, check.warnings)
