"""Re-run an execution: a new execution of the same workflow version with the same input."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import SYSTEM, Actor, AuditAction, record_change
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
    actor: Actor = SYSTEM


class RerunExecutionHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, definitions: DefinitionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions

    async def __call__(self, command: RerunExecution) -> Execution:
        now = self._clock.now()
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
                now=now,
                rerun_of=original.id,
                priority=original.priority,
            )
            # On the new execution, so its page says who started it (and from which).
            details = {
                "rerun_of": original.id,
                "workflow_id": workflow.id,
                "version": original.version,
            }
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.EXECUTION_RERUN,
                execution.id,
                details,
            )
            await uow.commit()
        return execution
