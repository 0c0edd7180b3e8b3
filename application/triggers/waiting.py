"""Waiting, within a deadline, for a node of an execution (or the execution) to finish.

The API and the workers meet only in the database: a wait reads the execution's rows,
and reads them again whenever the events channel announces a change of that execution
(and every `POLL_SECONDS` in case a notification was missed), until the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.creation import EVENTS_CHANNEL
from application.ports.notifications import Notifications
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.status import ExecutionStatus, NodeStatus

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Outcome:
    """How a wait ended: `done` with the output, `ended` without it (the node or the
    execution finished otherwise, `status` says how), or neither when time ran out."""

    status: str
    done: bool = False
    ended: bool = False
    output: Any = None


class ExecutionWaits:
    def __init__(self, uow: UnitOfWorkFactory, notifications: Notifications | None) -> None:
        self._uow = uow
        self._notifications = notifications

    async def wait(self, execution_id: str, node_id: str | None, seconds: float) -> Outcome:
        """The node's (or, without one, the execution's) output once it has finished, or
        how things stand after `seconds`."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def hear(channel: str, payload: Mapping[str, Any]) -> None:
            if channel == EVENTS_CHANNEL and payload.get("execution_id") == execution_id:
                loop.call_soon_threadsafe(changed.set)

        unsubscribe = self._notifications.subscribe(hear) if self._notifications else None
        deadline = loop.time() + seconds
        try:
            while True:
                changed.clear()
                outcome = await self._look(execution_id, node_id)
                remaining = deadline - loop.time()
                if outcome.done or outcome.ended or remaining <= 0:
                    return outcome
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, POLL_SECONDS))
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def _look(self, execution_id: str, node_id: str | None) -> Outcome:
        async with self._uow() as uow:
            execution = await uow.executions.get(execution_id)
            runs = await uow.node_runs.get_all(execution_id) if node_id else {}
        if execution is None:
            return Outcome("missing", ended=True)
        if node_id is None:
            if execution.status is ExecutionStatus.COMPLETED:
                return Outcome(execution.status.value, done=True, output=execution.output)
            return Outcome(execution.status.value, ended=execution.status.is_terminal)
        run = runs.get(node_id)
        if run is not None and run.status is NodeStatus.SUCCEEDED:
            return Outcome(run.status.value, done=True, output=run.output)
        if run is not None and run.status.is_terminal:
            return Outcome(run.status.value, ended=True)
        if execution.status.is_terminal:
            return Outcome(execution.status.value, ended=True)
        return Outcome(run.status.value if run else execution.status.value)
