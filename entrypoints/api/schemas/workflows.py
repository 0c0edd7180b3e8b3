"""Bodies for workflows, their versions and runs, and the reader of a definition's source text."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import msgspec

from application.document_limits import MAX_INTEGER
from application.input_errors import InvalidInput
from application.records import Workflow, WorkflowVersion
from application.save_checks import SaveCheck
from application.use_cases.create_workflow import ReadSource, SourceReader
from application.use_cases.start_run import RunStarted, StartRun
from domain.priority import MAX_PRIORITY, MIN_PRIORITY
from domain.problems import Problem
from entrypoints.api.schemas.common import AwareDatetime, Body, Description, Name, Out
from entrypoints.document_text import UnreadableDocument, read_json, read_yaml

SourceField = Annotated[str, msgspec.Meta(min_length=1)]
"""A definition's JSON or YAML text, kept byte for byte (the body's size bounds it)."""


def read_source_text(text: str, max_size: int | None = None) -> ReadSource:
    """A definition's source text read safely (no YAML aliases, bounded): JSON when it is
    JSON, otherwise YAML; `InvalidInput` at `source`, with the line, when it is neither.

    Slow for a large YAML text (about a second a megabyte): call it off the event loop.
    """
    looks_like_json = text.lstrip().startswith(("{", "["))
    try:
        if looks_like_json:
            return ReadSource(read_json(text, max_size), "json")
        return ReadSource(read_yaml(text, max_size), "yaml")
    except UnreadableDocument as error:
        if looks_like_json:
            return _flow_yaml(text, max_size, error)
        raise InvalidInput("source", f"the source cannot be read: {error}") from None


def _flow_yaml(text: str, max_size: int | None, json_error: UnreadableDocument) -> ReadSource:
    """A text opening with a brace that is not JSON may still be YAML in flow style."""
    try:
        return ReadSource(read_yaml(text, max_size), "yaml")
    except UnreadableDocument:
        raise InvalidInput("source", f"the source cannot be read: {json_error}") from None


def source_reader(max_size: int | None) -> SourceReader:
    """The use cases' reader of a source text, off the event loop, its document no larger
    as JSON than a request body may be."""

    async def read(text: str) -> ReadSource:
        return await asyncio.to_thread(read_source_text, text, max_size)

    return read


class WorkflowCreate(Body):
    """Give `definition` (an object) or `source` (its JSON or YAML text), not both."""

    name: Name
    definition: dict[str, Any] | None = None
    description: Description = ""
    source: SourceField | None = None
    """The definition as JSON or YAML text, comments and all: stored as written, beside
    the normalised definition. Top-level `name` and `description` keys in it (as in a
    workflow file) are not part of the definition; the body's fields name and describe."""


class WorkflowUpdate(Body):
    """Give `definition` (an object) or `source` (its JSON or YAML text), not both."""

    definition: dict[str, Any] | None = None
    description: Description | None = None
    source: SourceField | None = None
    """As in `WorkflowCreate`."""


class WorkflowOut(Out):
    id: str
    name: str
    description: str
    latest_version: int
    archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, workflow: Workflow) -> WorkflowOut:
        return cls(
            id=workflow.id,
            name=workflow.name,
            description=workflow.description,
            latest_version=workflow.latest_version,
            archived=workflow.archived,
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
        )


class WorkflowDetail(WorkflowOut):
    """A workflow with one version of its definition (the latest unless asked)."""

    version: int
    definition: dict[str, Any]
    source: str | None
    """The text the version was saved from, byte for byte; null when saved as an object."""
    source_format: str | None
    """`json` or `yaml`; null with `source`."""

    @classmethod
    def with_version(cls, workflow: Workflow, version: WorkflowVersion) -> WorkflowDetail:
        base = msgspec.structs.asdict(WorkflowOut.of(workflow))
        return cls(
            **base,
            version=version.version,
            definition=version.document,
            source=version.source,
            source_format=version.source_format,
        )


class ProblemOut(Out):
    """Something the save checks found: a stable code, where it is, what to do."""

    code: str
    path: str
    message: str

    @classmethod
    def of(cls, problem: Problem) -> ProblemOut:
        return cls(code=problem.code, path=problem.path, message=problem.message)


class WorkflowSaved(WorkflowDetail):
    """A workflow just created or updated, with what its checks warn about (for instance
    a secret the workspace does not hold yet): warnings never refuse a save."""

    warnings: list[ProblemOut]
    unchanged: bool
    """True when the definition and its source equal the latest version's: no version was
    made, and this is the latest one."""

    @classmethod
    def saved(
        cls,
        workflow: Workflow,
        version: WorkflowVersion,
        warnings: tuple[Problem, ...],
        unchanged: bool = False,
    ) -> WorkflowSaved:
        base = msgspec.structs.asdict(WorkflowDetail.with_version(workflow, version))
        found = [ProblemOut.of(problem) for problem in warnings]
        return cls(**base, warnings=found, unchanged=unchanged)


class WorkflowCheck(Out):
    """What saving a definition would find; `valid` is false when `problems` is not empty."""

    valid: bool
    problems: list[ProblemOut]
    warnings: list[ProblemOut]

    @classmethod
    def of(cls, check: SaveCheck) -> WorkflowCheck:
        return cls(
            valid=check.valid,
            problems=[ProblemOut.of(problem) for problem in check.problems],
            warnings=[ProblemOut.of(problem) for problem in check.warnings],
        )


class WorkflowPage(Out):
    items: list[WorkflowOut]
    next_cursor: str | None


class VersionOut(Out):
    version: int
    created_at: datetime
    definition: dict[str, Any]
    source: str | None
    """The text the version was saved from, byte for byte; null when saved as an object."""
    source_format: str | None

    @classmethod
    def of(cls, version: WorkflowVersion) -> VersionOut:
        return cls(
            version=version.version,
            created_at=version.created_at,
            definition=version.document,
            source=version.source,
            source_format=version.source_format,
        )


IdempotencyKeyText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RunRequest(Body):
    input: Any = None
    start_at: AwareDatetime | None = None
    """Start no earlier than this (an ISO 8601 time with an offset)."""
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_INTEGER)] | None = None
    """Run this version of the definition instead of the latest."""
    priority: Annotated[int, msgspec.Meta(ge=MIN_PRIORITY, le=MAX_PRIORITY)] | None = None
    """0-9, higher is claimed first; by default the workflow's `settings.priority` (5)."""

    def command(self, workspace_id: str, workflow_id: str, idempotency_key: str | None) -> StartRun:
        """The use case's command for this request (single and bulk runs alike)."""
        return StartRun(
            workspace_id=workspace_id,
            workflow_id=workflow_id,
            input=self.input,
            start_at=self.start_at,
            idempotency_key=idempotency_key,
            version=self.version,
            priority=self.priority,
        )


class BulkRun(RunRequest):
    """One run of a bulk request: a single run's body, with its idempotency key."""

    idempotency_key: IdempotencyKeyText | None = None
    """Runs with a key already used answer that execution; a key repeated in the same
    request is one execution, answered in each of its positions."""


class BulkRunRequest(Body):
    runs: list[BulkRun]
    """From 1 to 1,000 runs, all started or none."""


class RunOut(Out):
    execution_id: str
    workflow_id: str
    version: int
    status: str
    created: bool
    """False when an earlier request with the same Idempotency-Key made the execution."""

    @classmethod
    def of(cls, started: RunStarted) -> RunOut:
        execution = started.execution
        return cls(
            execution_id=execution.id,
            workflow_id=execution.workflow_id,
            version=execution.version,
            status=execution.status.value,
            created=started.created,
        )


class BulkRunOut(Out):
    runs: list[RunOut]
    """One per run asked for, in the same order."""
    created: int
    """How many of them are new executions."""
