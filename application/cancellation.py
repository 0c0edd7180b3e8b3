"""Cancelling an execution nobody is running, and passing a cancel on to sub-workflows."""

from __future__ import annotations

from datetime import datetime

from application.creation import record, wake_parent
from application.ports.unit_of_work import UnitOfWork
from domain import execution as ex
from domain import node_run as nr
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus, NodeStatus


def waiting_children(runs: dict[str, NodeRun]) -> list[str]:
    """The child executions that nodes of this execution are waiting on."""
    return [
        str(run.waiting_for["child"])
        for run in runs.values()
        if run.status is NodeStatus.WAITING and run.waiting_for and "child" in run.waiting_for
    ]


def waiting_item_nodes(runs: dict[str, NodeRun]) -> list[str]:
    """The `for_each` nodes of this execution waiting on their items."""
    return [
        run.node_id
        for run in runs.values()
        if run.status is NodeStatus.WAITING and run.waiting_for and "for_each" in run.waiting_for
    ]


async def cancel_unleased(
    uow: UnitOfWork, execution: Execution, now: datetime, *, tell_parent: bool = True
) -> Execution:
    """Cancel a locked execution that no worker is running: its nodes, it, its children."""
    runs = await uow.node_runs.get_all(execution.id)
    events: list[DomainEvent] = []
    changed = []
    for run in runs.values():
        if not run.status.is_terminal:
            new_run, run_events = nr.cancel(run, now)
            changed.append(new_run)
            events.extend(run_events)
    cancelled, exec_events = ex.cancel(execution, now)
    events.extend(exec_events)
    cancelled = await record(uow, execution, cancelled, changed, events, now)
    for child_id in waiting_children(runs):
        await cancel_child(uow, child_id, now)
    for node_id in waiting_item_nodes(runs):
        await cancel_items(uow, execution.id, node_id, now)
    if tell_parent:
        await wake_parent(uow, cancelled, now)
    return cancelled


async def cancel_items(uow: UnitOfWork, execution_id: str, node_id: str, now: datetime) -> None:
    """A `for_each` node ended or its execution is closing: end the items still running
    (at most its parallelism, so this reads few rows however many items it has)."""
    for child_id in await uow.executions.active_items(execution_id, node_id):
        await cancel_child(uow, child_id, now)


async def cancel_child(uow: UnitOfWork, child_id: str, now: datetime) -> None:
    """The parent is closing: end its child too (at once, or at the child's next boundary).

    The parent is not told: it is the one closing, inside this same transaction.
    """
    child = await uow.executions.lock(child_id)
    if child is None or child.status.is_terminal or child.cancel_requested:
        return
    if child.status is ExecutionStatus.RUNNING:
        requested, events = ex.request_cancel(child, now)
        await record(uow, child, requested, [], events, now)
    else:
        await cancel_unleased(uow, child, now, tell_parent=False)
