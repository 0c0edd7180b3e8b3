"""Deliver a signal to an execution: stored durably even if no node waits for it yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.creation import record
from application.errors import Conflict
from application.ids import new_id
from application.lookups import lock_execution
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Signal
from domain import execution as ex


@dataclass(frozen=True)
class DeliverSignal:
    workspace_id: str
    execution_id: str
    name: str
    payload: Any = None
    actor: Actor = SYSTEM


class DeliverSignalHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: DeliverSignal) -> Signal:
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await lock_execution(uow, command.workspace_id, command.execution_id)
            if execution.status.is_terminal:
                raise Conflict(f"execution {execution.id} has ended ({execution.status.value})")
            signal = Signal(new_id("sig"), execution.id, command.name, command.payload, now)
            await uow.signals.add(signal)
            arrived, events = ex.signal_arrived(
                execution, now, signal_id=signal.id, name=command.name
            )
            await record(uow, execution, arrived, [], events, now)
            # The signal's name and id, not its payload (which may hold anything).
            details = {"signal_id": signal.id, "name": command.name}
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.SIGNAL_SENT,
                execution.id,
                details,
            )
            await uow.commit()
        return signal
