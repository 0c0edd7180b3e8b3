"""One node's run inside an execution, and its state machine as pure functions.

Each function takes the current value and returns the new value plus the domain
events it produced; an illegal change raises IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.events import DomainEvent, EventType
from domain.policies import NodeError
from domain.status import NodeStatus
from domain.transitions import check_node_transition

Step = tuple["NodeRun", list[DomainEvent]]


@dataclass(frozen=True)
class NodeRun:
    """The persisted state of one node in one execution."""

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempt: int = 0
    input: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    label: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    wake_at: datetime | None = None
    waiting_for: dict[str, Any] | None = None
    skip_reason: str | None = None

    def _to(self, status: NodeStatus, **changes: Any) -> NodeRun:
        check_node_transition(self.status, status)
        return replace(self, status=status, **changes)

    def _event(self, event_type: str, /, **payload: Any) -> DomainEvent:
        attempt = self.attempt or None
        return DomainEvent(event_type, node_id=self.node_id, attempt=attempt, payload=payload)


def make_ready(run: NodeRun) -> Step:
    new = run._to(NodeStatus.READY, wake_at=None)
    return new, [new._event(EventType.NODE_READY)]


def start_attempt(run: NodeRun, now: datetime, rendered_input: Any = None) -> Step:
    """Record that attempt `attempt + 1` begins: this commits before the body runs."""
    new = run._to(
        NodeStatus.RUNNING,
        attempt=run.attempt + 1,
        started_at=now,
        finished_at=None,
        input=rendered_input,
        error=None,
    )
    return new, [new._event(EventType.NODE_STARTED)]


def interrupt(run: NodeRun, reason: str) -> Step:
    """An attempt lost its worker: it will run again under the same attempt number."""
    event = run._event(EventType.NODE_INTERRUPTED, reason=reason)
    new = run._to(NodeStatus.READY, attempt=run.attempt - 1, started_at=None)
    return new, [event]


def succeed(run: NodeRun, now: datetime, output: Any, label: str | None = None) -> Step:
    new = run._to(
        NodeStatus.SUCCEEDED,
        output=output,
        label=label,
        finished_at=now,
        wake_at=None,
        waiting_for=None,
    )
    payload: dict[str, Any] = {"label": label} if label is not None else {}
    return new, [new._event(EventType.NODE_SUCCEEDED, **payload)]


def fail(run: NodeRun, now: datetime, error: NodeError) -> Step:
    new = run._to(
        NodeStatus.FAILED,
        error=error.as_dict(),
        finished_at=now,
        wake_at=None,
        waiting_for=None,
        label=None,
    )
    return new, [new._event(EventType.NODE_FAILED, error=error.as_dict())]


def schedule_retry(run: NodeRun, now: datetime, error: NodeError, wake_at: datetime) -> Step:
    new = run._to(NodeStatus.RETRYING, error=error.as_dict(), finished_at=now, wake_at=wake_at)
    event = new._event(
        EventType.NODE_RETRY_SCHEDULED, error=error.as_dict(), wake_at=wake_at.isoformat()
    )
    return new, [event]


def wait(run: NodeRun, wake_at: datetime | None, waiting_for: dict[str, Any]) -> Step:
    """The node's body asked to be resumed later: at `wake_at`, on a signal, on a child."""
    new = run._to(NodeStatus.WAITING, wake_at=wake_at, waiting_for=waiting_for)
    payload: dict[str, Any] = dict(waiting_for)
    if wake_at is not None:
        payload["wake_at"] = wake_at.isoformat()
    return new, [new._event(EventType.NODE_WAITING, **payload)]


def start_items(
    run: NodeRun, wake_at: datetime | None, waiting_for: dict[str, Any], started: list[int]
) -> Step:
    """A waiting `for_each` node started (or restarted) the items `started` and waits on."""
    new = replace(run, wake_at=wake_at, waiting_for=waiting_for)
    return new, [new._event(EventType.NODE_ITEMS_STARTED, items=started)]


def skip(run: NodeRun, reason: str) -> Step:
    new = run._to(NodeStatus.SKIPPED, skip_reason=reason)
    return new, [new._event(EventType.NODE_SKIPPED, reason=reason)]


def cancel(run: NodeRun, now: datetime) -> Step:
    new = run._to(NodeStatus.CANCELLED, finished_at=now, wake_at=None, waiting_for=None)
    return new, [new._event(EventType.NODE_CANCELLED)]


def reset(run: NodeRun) -> Step:
    """Put a failed, skipped or cancelled node back to pending for a retry of its execution."""
    new = run._to(
        NodeStatus.PENDING,
        attempt=0,
        output=None,
        error=None,
        label=None,
        started_at=None,
        finished_at=None,
        wake_at=None,
        waiting_for=None,
        skip_reason=None,
    )
    return new, [new._event(EventType.NODE_RESET)]
