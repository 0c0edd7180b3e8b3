"""Retry a failed or timed-out execution from its failed nodes, keeping earlier results."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.creation import record
from application.definitions import DefinitionCache
from application.errors import Conflict
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain import execution as ex
from domain import node_run as nr
from domain.events import DomainEvent
from domain.execution import Execution
from domain.policies import execution_deadline
from domain.status import ExecutionStatus, NodeStatus

RETRYABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})
RESETTABLE = frozenset({NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED})


@dataclass(frozen=True)
class RetryExecution:
    workspace_id: str
    execution_id: str


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
            definition = await self._definitions.load(uow, execution.workflow_id, execution.version)
            runs = await uow.node_runs.get_all(execution.id)
            events: list[DomainEvent] = []
            changed = []
            for run in runs.values():
                if run.status in RESETTABLE:
                    new_run, run_events = nr.reset(run)
                    changed.append(new_run)
                    events.extend(run_events)
            reopened, exec_events = ex.reopen(execution)
            events.extend(exec_events)
            deadline = execution_deadline(now, definition.settings.execution_timeout)
            reopened = await record(
                uow, execution, replace(reopened, deadline_at=deadline), changed, events, now
            )
            await uow.commit()
        return reopened
