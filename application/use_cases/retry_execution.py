"""Retry a failed or timed-out execution from its failed nodes, keeping earlier results."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.definitions import DefinitionCache
from application.errors import Conflict
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.reopening import reopen
from domain.execution import Execution
from domain.status import ExecutionStatus

RETRYABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})


@dataclass(frozen=True)
class RetryExecution:
    workspace_id: str
    execution_id: str
    actor: Actor = SYSTEM


class RetryExecutionHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, definitions: DefinitionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions

    async def __call__(self, command: RetryExecution) -> Execution:
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await lock_execution(uow, command.workspace_id, command.execution_id)
            if execution.status not in RETRYABLE:
                raise Conflict(
                    f"only failed or timed-out executions can be retried; "
                    f"{execution.id} is {execution.status.value}"
                )
            reopened = await reopen(uow, execution, self._definitions, now)
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.EXECUTION_RETRIED,
                execution.id,
                {"workflow_id": execution.workflow_id, "was": execution.status.value},
            )
            await uow.commit()
        return reopened
