"""Save a new immutable version of a workflow; running executions keep theirs.

A save whose normalised document and source text both equal the latest version's makes no
version: the answer says `unchanged`. A new description is still kept then, on the
workflow (the description is not part of a version).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import NotFound
from application.ports.clock import Clock
from application.ports.node_kinds import InstalledKinds, NoInstalledKinds
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import Workflow, WorkflowVersion
from application.recursion_check import Saving
from application.save_checks import (
    SavedWorkflow,
    check_definition,
    parse_for_save,
    refuse_problems,
)
from application.use_cases.create_workflow import SourceText, definition_input
from domain.validation import definition_to_document


@dataclass(frozen=True)
class UpdateWorkflow:
    """`definition` is a document; `source` is the text it was written in (give one)."""

    workspace_id: str
    workflow_id: str
    definition: Any = None
    description: str | None = None
    source: SourceText | None = None
    actor: Actor = SYSTEM


@dataclass(frozen=True)
class UpdatedWorkflow(SavedWorkflow):
    """A save's outcome: `unchanged` when it matched the latest version and made none."""

    unchanged: bool = False


class UpdateWorkflowHandler:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, installed: InstalledKinds | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._installed = installed or NoInstalledKinds()

    async def __call__(self, command: UpdateWorkflow) -> Workflow:
        return (await self.save(command)).workflow

    async def save(self, command: UpdateWorkflow) -> UpdatedWorkflow:
        """Save the new version, or none when nothing changed; raises InvalidDefinition for
        any problem the checks find."""
        given = await definition_input(command.definition, command.source)
        definition = await parse_for_save(self._uow, given.document)
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
            candidate = WorkflowVersion(
                workflow.id,
                version,
                definition_to_document(definition),
                now,
                source=given.source,
                source_format=given.source_format,
            )
            latest = await uow.workflows.get_version(workflow.id, workflow.latest_version)
            if latest is not None and same_content(latest, candidate):
                kept = _described(workflow, command.description, now)
                if kept != workflow:
                    await uow.workflows.save(kept)
                    await _audit(uow, command, kept, now, {"description": True})
                    await uow.commit()
                return UpdatedWorkflow(kept, check.warnings, unchanged=True)
            updated = replace(
                _described(workflow, command.description, now),
                latest_version=version,
                updated_at=now,
            )
            await uow.workflows.add_version(updated, candidate)
            await _audit(uow, command, updated, now, {"version": version})
            await uow.commit()
        return UpdatedWorkflow(updated, check.warnings)


async def _audit(
    uow: UnitOfWork,
    command: UpdateWorkflow,
    workflow: Workflow,
    now: datetime,
    change: dict[str, Any],
) -> None:
    """Record a change of the workflow: a new `version`, or only its `description`."""
    details = {"name": workflow.name, **change}
    await record_change(
        uow,
        command.workspace_id,
        now,
        command.actor,
        AuditAction.WORKFLOW_UPDATED,
        workflow.id,
        details,
    )


def same_content(latest: WorkflowVersion, candidate: WorkflowVersion) -> bool:
    """Whether saving `candidate` would repeat `latest`: the same normalised document and
    the same source text (a document saved without a source matches only one without)."""
    return (
        latest.document == candidate.document
        and latest.source == candidate.source
        and latest.source_format == candidate.source_format
    )


def _described(workflow: Workflow, description: str | None, now: datetime) -> Workflow:
    """`workflow` with `description` (None keeps the one it has)."""
    if description is None or description == workflow.description:
        return workflow
    return replace(workflow, description=description, updated_at=now)
