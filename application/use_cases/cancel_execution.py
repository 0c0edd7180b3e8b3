"""Cancel an execution: at once when nobody runs it, at the next boundary when a worker does."""

from __future__ import annotations

from dataclasses import dataclass

from application.cancellation import cancel_unleased
from application.creation import append_external_event
from application.errors import Conflict
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain import execution as ex
from domain.execution import Execution
from domain.status import ExecutionStatus


@dataclass(frozen=True)
class CancelExecution:
    workspace_id: str
    execution_id: str


class CancelExecutionHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: CancelExecution) -> Execution:
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await lock_execution(uow, command.workspace_id, command.execution_id)
            if execution.status.is_terminal:
                raise Conflict(
                    f"execution {execution.id} has already ended ({execution.status.value})"
                )
            if execution.status is ExecutionStatus.RUNNING:
                _, events = ex.request_cancel(execution)
                result = await append_external_event(
                    uow, execution, events[0], now, cancel_requested=True
                )
            else:
                result = await cancel_unleased(uow, execution, now)
            await uow.commit()
        return result
