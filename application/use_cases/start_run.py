"""Start a run of a workflow: insert a pending execution and return at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.creation import insert_execution
from application.definitions import DefinitionCache
from application.errors import Conflict, NotFound
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.execution import Execution


@dataclass(frozen=True)
class StartRun:
    workspace_id: str
    workflow_id: str
    input: Any = None
    start_at: datetime | None = None
    idempotency_key: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class RunStarted:
    execution: Execution
    created: bool
    """False when an earlier request with the same idempotency key made the execution."""


class StartRunHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, definitions: DefinitionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions

    async def __call__(self, command: StartRun) -> RunStarted:
        try:
            return await self._start(command)
        except Conflict:
            if command.idempotency_key is None:
                raise
            return await self._same_key_winner(command)

    async def _start(self, command: StartRun) -> RunStarted:
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
            execution = await insert_execution(
                uow,
                workflow=workflow,
                version=version,
                definition=definition,
                input=command.input,
                now=self._clock.now(),
                start_at=command.start_at,
            )
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
