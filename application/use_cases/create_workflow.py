"""Create a workflow from a definition document or the text its author wrote (validated
and checked; version 1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import Conflict
from application.ids import new_id
from application.input_errors import InvalidInput
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

WORKFLOW_FILE_FIELDS = ("name", "description")
"""Keys at the top of a workflow file that describe the workflow, not its definition."""


@dataclass(frozen=True)
class ReadSource:
    """What a reader found in a source text: its document, and the format it is in."""

    document: Any
    format: str


SourceReader = Callable[[str], Awaitable[ReadSource]]
"""Reads a source text into its document; raises `InvalidInput` naming `source` (with the
line, when known) for a text it cannot read. The entrypoints give their safe JSON/YAML
reader: the application reads no text format itself."""


@dataclass(frozen=True)
class SourceText:
    """A definition as its author wrote it, kept byte for byte beside the normalised
    document, with the reader that finds the document in it."""

    text: str
    read: SourceReader


@dataclass(frozen=True)
class DefinitionInput:
    """The definition document a save was given, and the source it was read from (if any)."""

    document: Any
    source: str | None = None
    source_format: str | None = None


async def definition_input(definition: Any, source: SourceText | None) -> DefinitionInput:
    """The document to save: `definition` as given, or the one read from `source` without
    the workflow file's own `name` and `description` keys; not both."""
    if source is None:
        return DefinitionInput(definition)  # None included: parsing says what is missing
    if definition is not None:
        raise InvalidInput(
            "source", "give either `definition` or `source` (its JSON or YAML text), not both"
        )
    read = await source.read(source.text)
    return DefinitionInput(_without_file_fields(read.document), source.text, read.format)


def _without_file_fields(document: Any) -> Any:
    if not isinstance(document, dict):
        return document  # not a definition: parsing says so
    return {key: value for key, value in document.items() if key not in WORKFLOW_FILE_FIELDS}


@dataclass(frozen=True)
class CreateWorkflow:
    """`definition` is a document; `source` is the text it was written in (give one)."""

    workspace_id: str
    name: str
    definition: Any = None
    description: str = ""
    source: SourceText | None = None
    actor: Actor = SYSTEM


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
        self,
        workspace_id: str,
        document: Any,
        name: str | None = None,
        source: SourceText | None = None,
    ) -> SaveCheck:
        """What saving `document` (or the one in `source`) as a workflow called `name` would
        refuse or warn about; stores nothing."""
        given = await definition_input(document, source)
        return await check_document(self._uow, workspace_id, given.document, name, self._installed)

    async def save(self, command: CreateWorkflow) -> SavedWorkflow:
        """Create the workflow; raises InvalidDefinition for any problem the checks find."""
        given = await definition_input(command.definition, command.source)
        definition = await parse_for_save(self._uow, given.document)
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
        version = WorkflowVersion(
            workflow.id,
            1,
            definition_to_document(definition),
            now,
            source=given.source,
            source_format=given.source_format,
        )
        async with self._uow() as uow:
            saving = Saving(name=command.name)
            check = await check_definition(
                uow, command.workspace_id, definition, saving, self._installed
            )
            refuse_problems(check)
            if await uow.workflows.get_by_name(command.workspace_id, command.name):
                raise Conflict(f"a workflow named {command.name!r} already exists")
            await uow.workflows.add(workflow, version)
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.WORKFLOW_CREATED,
                workflow.id,
                {"name": workflow.name, "version": 1},
            )
            await uow.commit()
        return SavedWorkflow(workflow, check.warnings)
