"""Cancel an execution: at once when nobody runs it, at the next boundary when a worker does.

A cancel always lands: if the whole cancel cannot be written (the execution is huge, or a
write of its node runs fails), the request alone is recorded on the execution's row, and
the worker that claims it next closes it before taking any step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.cancellation import cancel_unleased
from application.creation import record
from application.errors import Conflict, NotFound
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain import execution as ex
from domain.execution import Execution
from domain.status import ExecutionStatus


@dataclass(frozen=True)
class CancelExecution:
    workspace_id: str
    execution_id: str
    actor: Actor = SYSTEM


class CancelExecutionHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: CancelExecution) -> Execution:
        try:
            return await self._cancel(command)
        except (NotFound, Conflict):
            raise
        except Exception:
            # Nothing of the failed attempt landed; the request alone is one small write.
            return await self._request_cancel(command)

    async def _cancel(self, command: CancelExecution) -> Execution:
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await lock_execution(uow, command.workspace_id, command.execution_id)
            _refuse_ended(execution)
            if execution.status is ExecutionStatus.RUNNING:
                result = await _record_request(uow, execution, now)
            else:
                result = await cancel_unleased(uow, execution, now)
            await _audit(uow, command, now)
            await uow.commit()
        return result

    async def _request_cancel(self, command: CancelExecution) -> Execution:
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await lock_execution(uow, command.workspace_id, command.execution_id)
            _refuse_ended(execution)
            if execution.cancel_requested:
                return execution
            result = await _record_request(uow, execution, now)
            await _audit(uow, command, now)
            await uow.commit()
        return result


async def _audit(uow: UnitOfWork, command: CancelExecution, now: datetime) -> None:
    await record_change(
        uow,
        command.workspace_id,
        now,
        command.actor,
        AuditAction.EXECUTION_CANCELLED,
        command.execution_id,
    )


def _refuse_ended(execution: Execution) -> None:
    if execution.status.is_terminal:
        raise Conflict(f"execution {execution.id} has already ended ({execution.status.value})")


async def _record_request(uow: UnitOfWork, execution: Execution, now: datetime) -> Execution:
    requested, events = ex.request_cancel(execution, now)
    return await record(uow, execution, requested, [], events, now)
