"""An execution (one run of one workflow version) and its state machine as pure functions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.events import DomainEvent, EventType
from domain.priority import DEFAULT_PRIORITY, DEFAULT_QUEUE
from domain.status import ExecutionStatus
from domain.transitions import check_execution_transition

Step = tuple["Execution", list[DomainEvent]]


@dataclass(frozen=True)
class ParentLink:
    """The node of another execution that started this one as a sub-workflow, and for a
    `for_each` node the index of the item it runs."""

    execution_id: str
    node_id: str
    item_index: int | None = None


@dataclass(frozen=True)
class Execution:
    """The persisted state of one execution, without its lease (the queue owns that)."""

    id: str
    workspace_id: str
    workflow_id: str
    version: int
    status: ExecutionStatus
    input: Any
    created_at: datetime
    output: Any = None
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime | None = None
    wake_at: datetime | None = None
    parent: ParentLink | None = None
    schedule_id: str | None = None
    scheduled_for: datetime | None = None
    cancel_requested: bool = False
    rerun_of: str | None = None
    depth: int = 0
    """How deeply it is nested as a sub-workflow: 0 for a top-level run, 1 for its child."""
    priority: int = DEFAULT_PRIORITY
    """Claimed before executions of lower priority (0-9); see `domain.priority`."""
    queue: str = DEFAULT_QUEUE
    """The queue it was put on when created: only workers serving it claim it."""
    required_kinds: tuple[str, ...] = ()
    """The kinds its workflow uses that installed packages add: only a worker that has them
    all claims it."""
    flow_key: str | None = None
    """The concurrency key it counts under, once a worker opened it under a limit."""
    holds_slot: bool = False
    """Whether it holds one of its workflow's concurrency slots (until it ends)."""
    waiting_reason: dict[str, Any] | None = None
    """Why it waits to start (a concurrency slot, a rate window); see `flow_control`."""
    seq: int = 0
    """The sequence number of the execution's last event; every write moves it."""
    trace_context: dict[str, str] | None = None
    """Its trace, as W3C headers (`traceparent`, `tracestate`), when tracing is on: every
    worker that advances it continues that trace."""

    def _to(self, status: ExecutionStatus, **changes: Any) -> Execution:
        check_execution_transition(self.status, status)
        return replace(self, status=status, **changes)

    def _end(self, status: ExecutionStatus, **changes: Any) -> Execution:
        """Move to a final status: nothing to wake for, no concurrency slot held."""
        return self._to(status, wake_at=None, holds_slot=False, waiting_reason=None, **changes)


def claim(execution: Execution, now: datetime) -> Step:
    """A worker took the execution: it runs until it waits, finishes or is released."""
    first = execution.started_at is None
    new = execution._to(
        ExecutionStatus.RUNNING,
        started_at=execution.started_at or now,
        wake_at=None,
        waiting_reason=None,
    )
    kind = EventType.EXECUTION_STARTED if first else EventType.EXECUTION_RESUMED
    return new, [DomainEvent(kind)]


def park(execution: Execution, wake_at: datetime | None) -> Step:
    """Nothing can run now: sleep until `wake_at` (or until a signal or child wakes it)."""
    new = execution._to(ExecutionStatus.WAITING, wake_at=wake_at)
    payload = {"wake_at": wake_at.isoformat()} if wake_at else {}
    return new, [DomainEvent(EventType.EXECUTION_WAITING, payload=payload)]


def defer(
    execution: Execution, wake_at: datetime | None, reason: dict[str, Any], flow_key: str | None
) -> Step:
    """Flow control holds the execution back before it starts: until `wake_at` (the next
    rate window), or until a concurrency slot is handed to it (`admit`)."""
    if execution.status is not ExecutionStatus.WAITING:
        check_execution_transition(execution.status, ExecutionStatus.WAITING)
    new = replace(
        execution,
        status=ExecutionStatus.WAITING,
        wake_at=wake_at,
        waiting_reason=reason,
        flow_key=flow_key,
        holds_slot=False,
    )
    return new, [DomainEvent(EventType.EXECUTION_DEFERRED, payload={"reason": reason})]


def admit(execution: Execution, now: datetime) -> Step:
    """A concurrency slot was handed to this waiting execution: it is due at once."""
    new = replace(execution, holds_slot=True, waiting_reason=None, wake_at=now)
    return new, [DomainEvent(EventType.EXECUTION_ADMITTED, payload={"key": execution.flow_key})]


def take_slot(execution: Execution, flow_key: str) -> Execution:
    """The execution took a concurrency slot as it opened."""
    return replace(execution, holds_slot=True, flow_key=flow_key, waiting_reason=None)


def release(execution: Execution) -> Step:
    """The worker is stopping: hand the execution back so another worker resumes it at once."""
    new = execution._to(ExecutionStatus.PENDING, wake_at=None)
    return new, [DomainEvent(EventType.EXECUTION_RELEASED)]


def complete(execution: Execution, now: datetime, output: Any) -> Step:
    new = execution._end(ExecutionStatus.COMPLETED, output=output, finished_at=now)
    return new, [DomainEvent(EventType.EXECUTION_COMPLETED)]


def fail(execution: Execution, now: datetime, error: dict[str, Any]) -> Step:
    new = execution._end(ExecutionStatus.FAILED, error=error, finished_at=now)
    return new, [DomainEvent(EventType.EXECUTION_FAILED, payload={"error": error})]


def cancel(execution: Execution, now: datetime) -> Step:
    new = execution._end(ExecutionStatus.CANCELLED, finished_at=now)
    return new, [DomainEvent(EventType.EXECUTION_CANCELLED)]


def time_out(execution: Execution, now: datetime) -> Step:
    error = {"kind": "execution_timeout", "message": "the execution passed its deadline"}
    new = execution._end(ExecutionStatus.TIMED_OUT, error=error, finished_at=now)
    return new, [DomainEvent(EventType.EXECUTION_TIMED_OUT)]


def request_cancel(execution: Execution, now: datetime) -> Step:
    """Mark the execution so its worker stops at the next boundary; a parked one becomes
    due, so a worker claims it and closes it at once."""
    new = replace(execution, cancel_requested=True, **_due(execution, now))
    return new, [DomainEvent(EventType.EXECUTION_CANCEL_REQUESTED)]


def signal_arrived(execution: Execution, now: datetime, *, signal_id: str, name: str) -> Step:
    """A signal was stored for the execution (kept even if no node waits for it yet); a
    parked execution becomes due, so a waiting node can take it."""
    new = replace(execution, **_due(execution, now))
    payload = {"name": name, "signal_id": signal_id}
    return new, [DomainEvent(EventType.SIGNAL_RECEIVED, payload=payload)]


def child_finished(
    parent: Execution, now: datetime, *, node_id: str, child_id: str, status: ExecutionStatus
) -> Step:
    """A sub-workflow that `node_id` waits on ended: a parked parent becomes due."""
    new = replace(parent, **_due(parent, now))
    payload = {"child_execution_id": child_id, "status": status.value}
    return new, [DomainEvent(EventType.CHILD_FINISHED, node_id=node_id, payload=payload)]


def _due(execution: Execution, now: datetime) -> dict[str, Any]:
    return {"wake_at": now} if execution.status is ExecutionStatus.WAITING else {}


def reopen(execution: Execution) -> Step:
    """Make a failed or timed-out execution (or a cancelled `for_each` item) runnable again,
    retrying from its failed nodes."""
    new = execution._to(
        ExecutionStatus.PENDING,
        error=None,
        output=None,
        finished_at=None,
        wake_at=None,
        cancel_requested=False,
    )
    return new, [DomainEvent(EventType.EXECUTION_RETRIED)]
