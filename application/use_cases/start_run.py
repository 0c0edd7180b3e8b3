"""Start a run of a workflow: insert a pending execution and return at once.

A request for a workflow this process has started before (and without an idempotency key)
is stored in one exchange with the database: the execution is built from the workflow and
definition seen last time, and stored only if that workflow is still current. Anything
else, or a workflow that changed since, goes the checked way: look up, then insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, AuditEntry, audit_entry
from application.creation import add_execution, announcements, new_execution
from application.definitions import DefinitionCache
from application.errors import Conflict, NotFound
from application.ids import new_id
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.run_inserts import NewRun, RunInserts
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow
from domain.definition import WorkflowDefinition
from domain.events import EventType
from domain.execution import Execution
from domain.priority import MAX_PRIORITY, MIN_PRIORITY

KNOWN_WORKFLOWS = 1024
"""Workflows remembered for one-exchange starts (the oldest is forgotten first)."""


@dataclass(frozen=True)
class StartRun:
    workspace_id: str
    workflow_id: str
    input: Any = None
    start_at: datetime | None = None
    idempotency_key: str | None = None
    version: int | None = None
    priority: int | None = None
    """0-9, higher first; None takes the workflow's `settings.priority`."""
    actor: Actor = SYSTEM
    """Who asks for the run, as the audit log records it."""


def run_started(command: StartRun, execution: Execution) -> AuditEntry:
    """The audit entry of a started run: its workflow and version, never its input."""
    details = {"workflow_id": execution.workflow_id, "version": execution.version}
    return audit_entry(
        command.workspace_id,
        execution.created_at,
        command.actor,
        AuditAction.RUN_STARTED,
        execution.id,
        details,
    )


def new_run(
    command: StartRun,
    workflow: Workflow,
    version: int,
    definition: WorkflowDefinition,
    now: datetime,
) -> NewRun:
    """The run a request asks for, built from the workflow and the definition of `version`
    as they were checked (not stored yet): single and bulk runs are built here."""
    if command.priority is not None and not MIN_PRIORITY <= command.priority <= MAX_PRIORITY:
        raise InvalidInput(
            "priority",
            f"a priority is an integer from {MIN_PRIORITY} to {MAX_PRIORITY},"
            f" not {command.priority}",
        )
    execution, event = new_execution(
        execution_id=new_id("ex"),
        workflow=workflow,
        version=version,
        definition=definition,
        input=command.input,
        now=now,
        start_at=command.start_at,
        priority=command.priority,
    )
    return NewRun(
        execution=execution,
        node_ids=[node.id for node in definition.nodes],
        events=[event],
        latest_version=workflow.latest_version,
        notifications=announcements(execution, EventType.EXECUTION_CREATED),
    )


@dataclass(frozen=True)
class RunStarted:
    execution: Execution
    created: bool
    """False when an earlier request with the same idempotency key made the execution."""


class StartRunHandler:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        definitions: DefinitionCache,
        inserts: RunInserts,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions
        self._inserts = inserts
        self._workflows: dict[tuple[str, str], Workflow] = {}

    async def __call__(self, command: StartRun) -> RunStarted:
        try:
            return await self._start(command)
        except Conflict:
            if command.idempotency_key is None:
                raise
            return await self._same_key_winner(command)

    async def _start(self, command: StartRun) -> RunStarted:
        if command.idempotency_key is None:
            started = await self._start_in_one_exchange(command)
            if started is not None:
                return started
        return await self._start_checked(command)

    async def _start_in_one_exchange(self, command: StartRun) -> RunStarted | None:
        """The run built from what this process knows of the workflow, stored if that is
        still current; None when it knows too little or the workflow has changed."""
        key = (command.workspace_id, command.workflow_id)
        workflow = self._workflows.get(key)
        if workflow is None:
            return None
        version = command.version or workflow.latest_version
        definition = self._definitions.cached(workflow.id, version)
        if definition is None or version > workflow.latest_version:
            return None
        run = new_run(command, workflow, version, definition, self._clock.now())
        if await self._inserts.insert_if_current(run, run_started(command, run.execution)):
            return RunStarted(run.execution, created=True)
        self._workflows.pop(key, None)
        return None

    def _remember(self, workflow: Workflow) -> None:
        if len(self._workflows) >= KNOWN_WORKFLOWS:
            self._workflows.pop(next(iter(self._workflows)))
        self._workflows[(workflow.workspace_id, workflow.id)] = workflow

    async def _start_checked(self, command: StartRun) -> RunStarted:
        async with self._uow() as uow:
            workflow = await uow.workflows.get(command.workspace_id, command.workflow_id)
            if workflow is None or workflow.archived:
                raise NotFound(f"no workflow {command.workflow_id} in this workspace")
            key = command.idempotency_key
            if key is not None:
                earlier = await uow.executions.find_by_idempotency_key(workflow.id, key)
                if earlier is not None:
                    return RunStarted(earlier, created=False)
            version = command.version or workflow.latest_version
            if version > workflow.latest_version:
                raise NotFound(f"workflow {workflow.id} has no version {version}")
            definition = await self._definitions.load(uow, workflow.id, version)
            self._remember(workflow)
            run = new_run(command, workflow, version, definition, self._clock.now())
            execution = run.execution
            await add_execution(uow, execution, run.node_ids, run.events)
            await uow.audit.add(run_started(command, execution))
            if key is not None:
                await uow.executions.remember_idempotency_key(workflow.id, key, execution.id)
            await uow.commit()
        return RunStarted(execution, created=True)

    async def _same_key_winner(self, command: StartRun) -> RunStarted:
        """A concurrent request with the same key won the race: answer with its execution."""
        async with self._uow() as uow:
            found = await uow.executions.find_by_idempotency_key(
                command.workflow_id, str(command.idempotency_key)
            )
        if found is None:
            raise Conflict("the idempotency key is in use by a request still in flight")
        return RunStarted(found, created=False)
