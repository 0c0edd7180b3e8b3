"""Cancel an execution: at once when nobody runs it, at the next boundary when a worker does."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.creation import announce, append_external_event, wake_parent
from application.errors import Conflict
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain import execution as ex
from domain import node_run as nr
from domain.events import DomainEvent
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
                result = await self._cancel_now(uow, execution)
            await uow.commit()
        return result

    async def _cancel_now(self, uow: UnitOfWork, execution: Execution) -> Execution:
        now = self._clock.now()
        events: list[DomainEvent] = []
        runs = await uow.node_runs.get_all(execution.id)
        changed = []
        for run in runs.values():
            if not run.status.is_terminal:
                new_run, run_events = nr.cancel(run, now)
                changed.append(new_run)
                events.extend(run_events)
        cancelled, exec_events = ex.cancel(execution, now)
        events.extend(exec_events)
        cancelled = replace(cancelled, seq=execution.seq + len(events))
        await uow.executions.save(cancelled, expected_seq=execution.seq, lease=None)
        await uow.node_runs.save_many(execution.id, changed)
        await uow.events.append(execution.id, execution.seq + 1, events, now)
        announce(uow, cancelled, events[-1].type)
        await wake_parent(uow, cancelled, now)
        return cancelled
