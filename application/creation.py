"""Writing executions: inserting one (with its node runs and first event), and recording a
transition of one (its row, changed node runs and events, then the notifications).

Shared by runs, schedules, re-runs, sub-workflows, the runner and the control use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from application.ids import new_id
from application.ports.unit_of_work import EventBatch, FencedSave, NewExecution, UnitOfWork
from application.records import Lease, Workflow
from application.tracing import new_trace_context
from domain import execution as ex
from domain.definition import WorkflowDefinition
from domain.events import DomainEvent, EventType
from domain.execution import Execution, ParentLink
from domain.items import refill_due
from domain.node_run import NodeRun
from domain.policies import execution_deadline
from domain.priority import DEFAULT_QUEUE
from domain.status import ExecutionStatus

WORK_CHANNEL = "treadle_work"
EVENTS_CHANNEL = "treadle_events"
CONTROL_CHANNEL = "treadle_control"
"""Cancel requests only: workers listen here instead of to every event."""


def new_execution(
    *,
    execution_id: str,
    workflow: Workflow,
    version: int,
    definition: WorkflowDefinition,
    input: Any,
    now: datetime,
    start_at: datetime | None = None,
    parent: ParentLink | None = None,
    schedule: tuple[str, datetime] | None = None,
    rerun_of: str | None = None,
    depth: int = 0,
    priority: int | None = None,
) -> tuple[Execution, DomainEvent]:
    """A pending execution (due at `start_at` or now) and its first event, not yet stored;
    `depth` is how deeply it is nested as a sub-workflow (0: a top-level run). Its priority
    is `priority`, or else the definition's default; its queue is the definition's."""
    settings = definition.settings
    begins = start_at if start_at is not None and start_at > now else now
    execution = Execution(
        id=execution_id,
        workspace_id=workflow.workspace_id,
        workflow_id=workflow.id,
        version=version,
        status=ExecutionStatus.PENDING,
        input=input,
        created_at=now,
        deadline_at=execution_deadline(begins, settings.execution_timeout),
        wake_at=begins if begins > now else None,
        parent=parent,
        schedule_id=schedule[0] if schedule else None,
        scheduled_for=schedule[1] if schedule else None,
        rerun_of=rerun_of,
        depth=depth,
        priority=settings.priority if priority is None else priority,
        queue=settings.queue,
        required_kinds=definition.extension_kinds,
        seq=1,
        trace_context=new_trace_context(),
    )
    payload: dict[str, Any] = {"workflow_id": workflow.id, "version": version}
    if execution.wake_at is not None:
        payload["start_at"] = execution.wake_at.isoformat()
    return execution, DomainEvent(EventType.EXECUTION_CREATED, payload=payload)


async def insert_execution(
    uow: UnitOfWork,
    *,
    workflow: Workflow,
    version: int,
    definition: WorkflowDefinition,
    input: Any,
    now: datetime,
    start_at: datetime | None = None,
    parent: ParentLink | None = None,
    schedule: tuple[str, datetime] | None = None,
    rerun_of: str | None = None,
    priority: int | None = None,
) -> Execution:
    """Insert a pending execution (due at `start_at` or now) and announce it to workers."""
    execution, event = new_execution(
        execution_id=new_id("ex"),
        workflow=workflow,
        version=version,
        definition=definition,
        input=input,
        now=now,
        start_at=start_at,
        parent=parent,
        schedule=schedule,
        rerun_of=rerun_of,
        priority=priority,
    )
    await add_execution(uow, execution, [node.id for node in definition.nodes], [event])
    return execution


async def add_execution(
    uow: UnitOfWork, execution: Execution, node_ids: Sequence[str], events: Sequence[DomainEvent]
) -> None:
    """Store a new execution with one pending run per node and its first events; announce it."""
    await uow.executions.add(execution, list(node_ids), list(events))
    announce(uow, execution, EventType.EXECUTION_CREATED)


async def add_executions(uow: UnitOfWork, new: Sequence[NewExecution]) -> None:
    """Store several new executions as `add_execution` stores one; announce each."""
    if not new:
        return
    await uow.executions.add_many(new)
    for one in new:
        announce(uow, one.execution, EventType.EXECUTION_CREATED)


def announce(uow: UnitOfWork, execution: Execution, event_type: str) -> None:
    """Tell listeners (workers, live streams) about a committed change to an execution."""
    for channel, payload in announcements(execution, event_type):
        uow.notify_after_commit(channel, payload)


def announcements(execution: Execution, event_type: str) -> list[tuple[str, dict[str, Any]]]:
    """The notifications (channel, payload) that tell listeners of a change to an execution:
    live streams always, workers when it may have work, workers' control on a cancel."""
    sent: list[tuple[str, dict[str, Any]]] = [
        (
            EVENTS_CHANNEL,
            {
                "execution_id": execution.id,
                "workspace_id": execution.workspace_id,
                "status": execution.status.value,
                "seq": execution.seq,
                "type": event_type,
            },
        )
    ]
    if execution.status in (ExecutionStatus.PENDING, ExecutionStatus.WAITING):
        work: dict[str, Any] = {"execution_id": execution.id}
        if execution.queue != DEFAULT_QUEUE:
            work["queue"] = execution.queue  # a worker not serving it need not wake
        sent.append((WORK_CHANNEL, work))
    if event_type == EventType.EXECUTION_CANCEL_REQUESTED:
        sent.append((CONTROL_CHANNEL, {"execution_id": execution.id, "type": event_type}))
    return sent


@dataclass(frozen=True)
class Transition:
    """One execution moved from `before` to `after`, with the node runs it changed and the
    events that say so."""

    before: Execution
    after: Execution
    runs: Sequence[NodeRun]
    events: Sequence[DomainEvent]
    lease: Lease | None = None


async def record(
    uow: UnitOfWork,
    before: Execution,
    after: Execution,
    runs: Sequence[NodeRun],
    events: Sequence[DomainEvent],
    now: datetime,
    lease: Lease | None = None,
) -> Execution:
    """Write one transition: the row as a compare-and-set on `before`'s sequence (and on the
    lease, for a worker), the changed node runs, the events numbered on from `before`."""
    [saved] = await record_many(uow, [Transition(before, after, runs, events, lease)], now)
    return saved


async def record_many(
    uow: UnitOfWork, transitions: Sequence[Transition], now: datetime
) -> list[Execution]:
    """Write several executions' transitions (as `record` writes one) in a few statements;
    raises if any row's compare-and-set fails, and the caller rolls everything back."""
    saved = [replace(t.after, seq=t.before.seq + len(t.events)) for t in transitions]
    pairs = list(zip(saved, transitions, strict=True))
    await uow.executions.save_with_history(
        [FencedSave(row, t.before.seq, t.lease) for row, t in pairs],
        {row.id: t.runs for row, t in pairs if t.runs},
        [EventBatch(row.id, t.before.seq + 1, t.events) for row, t in pairs],
        now,
    )
    for row, transition in pairs:
        announce(uow, row, transition.events[-1].type)
    for row, transition in pairs:
        if transition.before.holds_slot and not row.holds_slot:
            await hand_on_slot(uow, transition.before, now)
    return saved


async def hand_on_slot(uow: UnitOfWork, ended: Execution, now: datetime) -> None:
    """An execution that held a concurrency slot ended: the oldest execution of its key
    waiting for one takes it over (and becomes due), or the slot is given back."""
    key = ended.flow_key or ""
    waiting = await uow.executions.next_queued(ended.workflow_id, key)
    if waiting is None:
        await uow.flow.release_slot(ended.workflow_id, key)
        return
    admitted, events = ex.admit(waiting, now)
    await record(uow, waiting, admitted, [], events, now)


async def _item_wakes(uow: UnitOfWork, parent: Execution, item: Execution, now: datetime) -> bool:
    """Whether a `for_each` item that ended wakes its (locked) parent."""
    if not _parked(parent, now):
        return False
    if item.status is not ExecutionStatus.COMPLETED:
        return True  # a failure may fail the node at once
    assert item.parent is not None
    link = item.parent
    waiting = await uow.node_runs.waiting_for(link.execution_id, link.node_id)
    state = (waiting or {}).get("for_each")
    if state is None:
        return True
    active = await uow.executions.active_items(link.execution_id, link.node_id)
    return refill_due(state, len(active))


def _parked(execution: Execution, now: datetime) -> bool:
    """Waiting, and not due yet."""
    if execution.status is not ExecutionStatus.WAITING:
        return False
    return execution.wake_at is None or execution.wake_at > now


async def wake_parent(uow: UnitOfWork, child: Execution, now: datetime) -> None:
    """A sub-workflow ended: record it on the parent and make the parent due at once.

    A `for_each` item wakes its parent only when the parent is parked and not yet due,
    and then only when the item failed or enough of its siblings have ended
    (`domain.items.refill_due`): while the parent runs or is already due, the step it
    takes next reads every item that ended, so a thousand items finishing write the
    parent a few times, not a thousand. Nothing goes unseen: the parent's row is locked
    before the siblings are counted, so of two items ending together the later one
    counts after the earlier one committed.
    """
    if child.parent is None:
        return
    parent = await uow.executions.lock(child.parent.execution_id)
    if parent is None or parent.status.is_terminal:
        return
    if child.parent.item_index is not None and not await _item_wakes(uow, parent, child, now):
        return
    woken, events = ex.child_finished(
        parent, now, node_id=child.parent.node_id, child_id=child.id, status=child.status
    )
    await record(uow, parent, woken, [], events, now)
