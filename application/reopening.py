"""Reopening an ended execution: its failed, skipped and cancelled nodes go back to pending
and it becomes runnable again, keeping what succeeded. The API's retry and a retried
`for_each` node (re-running its failed items) both reopen this way."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from application.creation import record
from application.definitions import DefinitionCache
from application.ports.tracing import Carrier
from application.ports.unit_of_work import UnitOfWork
from application.tracing import retried_trace_context
from domain import execution as ex
from domain import node_run as nr
from domain.events import DomainEvent
from domain.execution import Execution
from domain.policies import execution_deadline
from domain.status import ExecutionStatus, NodeStatus

RESETTABLE = frozenset({NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED})
REOPENABLE_ITEMS = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CANCELLED}
)


async def reopen(
    uow: UnitOfWork,
    execution: Execution,
    definitions: DefinitionCache,
    now: datetime,
    retried_in: Carrier | None = None,
) -> Execution:
    """Reopen a locked, ended execution from its failed nodes, with a fresh deadline; its
    new trace starts in `retried_in` (None: the trace this code runs in, if any)."""
    definition = await definitions.load(uow, execution.workflow_id, execution.version)
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
    trace = retried_trace_context(execution, retried_in)
    reopened = replace(reopened, deadline_at=deadline, trace_context=trace)
    return await record(uow, execution, reopened, changed, events, now)


async def reopen_item(
    uow: UnitOfWork,
    child_id: str,
    definitions: DefinitionCache,
    now: datetime,
    parent_trace: Carrier | None = None,
) -> None:
    """Run a `for_each` item that failed, timed out or was cancelled again: in its
    parent's trace (`parent_trace`, when traced), linked to the trace it had."""
    child = await uow.executions.lock(child_id)
    if child is not None and child.status in REOPENABLE_ITEMS:
        await reopen(uow, child, definitions, now, parent_trace)
