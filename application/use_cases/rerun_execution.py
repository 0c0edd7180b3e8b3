"""Re-run an execution: a new execution of the same workflow version with the same input."""

from __future__ import annotations

from dataclasses import dataclass

from application.creation import insert_execution
from application.definitions import DefinitionCache
from application.errors import NotFound
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.execution import Execution


@dataclass(frozen=True)
class RerunExecution:
    workspace_id: str
    execution_id: str


class RerunExecutionHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, definitions: DefinitionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions

    async def __call__(self, command: RerunExecution) -> Execution:
        async with self._uow() as uow:
            original = await uow.executions.get(command.execution_id)
            if original is None or original.workspace_id != command.workspace_id:
                raise NotFound(f"no execution {command.execution_id} in this workspace")
            workflow = await uow.workflows.get(command.workspace_id, original.workflow_id)
            if workflow is None:
                raise NotFound(f"the workflow of execution {original.id} no longer exists")
            definition = await self._definitions.load(uow, workflow.id, original.version)
            execution = await insert_execution(
                uow,
                workflow=workflow,
                version=original.version,
                definition=definition,
                input=original.input,
                now=self._clock.now(),
                rerun_of=original.id,
                priority=original.priority,
            )
            await uow.commit()
        return execution
