"""Create a workflow from a definition document (validated and checked; version 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.errors import Conflict
from application.ids import new_id
from application.ports.clock import Clock
from application.ports.node_kinds import InstalledKinds, NoInstalledKinds
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow, WorkflowVersion
from application.recursion_check import Saving
from application.save_checks import (
    SaveCheck,
    SavedWorkflow,
    check_definition,
    check_document,
    parse_for_save,
    refuse_problems,
)
from domain.validation import definition_to_document


@dataclass(frozen=True)
class CreateWorkflow:
    workspace_id: str
    name: str
    definition: Any
    description: str = ""


class CreateWorkflowHandler:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, installed: InstalledKinds | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._installed = installed or NoInstalledKinds()

    async def __call__(self, command: CreateWorkflow) -> Workflow:
        return (await self.save(command)).workflow

    async def validate(
        self, workspace_id: str, document: Any, name: str | None = None
    ) -> SaveCheck:
        """What saving `document` as a workflow called `name` would refuse or warn about;
        stores nothing."""
        return await check_document(self._uow, workspace_id, document, name, self._installed)

    async def save(self, command: CreateWorkflow) -> SavedWorkflow:
        """Create the workflow; raises InvalidDefinition for any problem the checks find."""
        definition = await parse_for_save(self._uow, command.definition)
        now = self._clock.now()
        workflow = Workflow(
            id=new_id("wf"),
            workspace_id=command.workspace_id,
            name=command.name,
            latest_version=1,
            created_at=now,
            updated_at=now,
            description=command.description,
        )
        version = WorkflowVersion(workflow.id, 1, definition_to_document(definition), now)
        async with self._uow() as uow:
            saving = Saving(name=command.name)
            check = await check_definition(
                uow, command.workspace_id, definition, saving, self._installed
            )
            refuse_problems(check)
            if await uow.workflows.get_by_name(command.workspace_id, command.name):
                raise Conflict(f"a workflow named {command.name!r} already exists")
            await uow.workflows.add(workflow, version)
            await uow.commit()
        return SavedWorkflow(workflow, check.warnings)
