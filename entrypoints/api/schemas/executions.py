"""Bodies for executions, node runs, events and signals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from application.queries.executions import ExecutionDetail
from application.records import Signal, StoredEvent
from domain.execution import Execution
from domain.flow_control import describe_reason
from domain.node_run import NodeRun
from entrypoints.api.schemas.common import Out


class ExecutionOut(Out):
    id: str
    workflow_id: str
    version: int
    status: str
    input: Any
    output: Any
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    wake_at: datetime | None
    deadline_at: datetime | None
    cancel_requested: bool
    parent_execution_id: str | None
    parent_node_id: str | None
    item_index: int | None
    """The item this execution runs for its parent's `for_each` node; null otherwise."""
    schedule_id: str | None
    scheduled_for: datetime | None
    rerun_of: str | None
    priority: int
    """0-9: workers claim higher priorities first."""
    queue: str
    """The queue it was put on (its workflow's `settings.queue`): only workers serving it
    claim it."""
    waiting_reason: dict[str, Any] | None
    """Why it waits to start, under its workflow's flow control: `{"kind": "concurrency",
    "key", "running", "limit"}` or `{"kind": "rate_limit", "key", "until"}`; else null."""
    waiting_message: str | None
    """The same as a sentence, e.g. `waiting for a concurrency slot (key acme: 3 of 3
    running)`."""
    seq: int
    """The sequence number of the execution's latest event."""

    @classmethod
    def of(cls, execution: Execution) -> ExecutionOut:
        return cls(**_execution_fields(execution))


def _execution_fields(execution: Execution) -> dict[str, Any]:
    parent = execution.parent
    return {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "version": execution.version,
        "status": execution.status.value,
        "input": execution.input,
        "output": execution.output,
        "error": execution.error,
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "wake_at": execution.wake_at,
        "deadline_at": execution.deadline_at,
        "cancel_requested": execution.cancel_requested,
        "parent_execution_id": parent.execution_id if parent else None,
        "parent_node_id": parent.node_id if parent else None,
        "item_index": parent.item_index if parent else None,
        "schedule_id": execution.schedule_id,
        "scheduled_for": execution.scheduled_for,
        "rerun_of": execution.rerun_of,
        "priority": execution.priority,
        "queue": execution.queue,
        "waiting_reason": execution.waiting_reason,
        "waiting_message": describe_reason(execution.waiting_reason),
        "seq": execution.seq,
    }


class NodeRunOut(Out):
    node_id: str
    status: str
    attempt: int
    input: Any
    output: Any
    error: dict[str, Any] | None
    label: str | None
    started_at: datetime | None
    finished_at: datetime | None
    wake_at: datetime | None
    waiting_for: dict[str, Any] | None
    skip_reason: str | None

    @classmethod
    def of(cls, run: NodeRun) -> NodeRunOut:
        return cls(
            node_id=run.node_id,
            status=run.status.value,
            attempt=run.attempt,
            input=run.input,
            output=run.output,
            error=run.error,
            label=run.label,
            started_at=run.started_at,
            finished_at=run.finished_at,
            wake_at=run.wake_at,
            waiting_for=run.waiting_for,
            skip_reason=run.skip_reason,
        )


class ExecutionDetailOut(ExecutionOut):
    node_runs: list[NodeRunOut]

    @classmethod
    def of_detail(cls, detail: ExecutionDetail) -> ExecutionDetailOut:
        runs = [NodeRunOut.of(run) for run in detail.node_runs]
        return cls(**_execution_fields(detail.execution), node_runs=runs)


class ExecutionPage(Out):
    items: list[ExecutionOut]
    next_cursor: str | None


class EventOut(Out):
    seq: int
    type: str
    node_id: str | None
    attempt: int | None
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, event: StoredEvent) -> EventOut:
        return cls(
            seq=event.seq,
            type=event.type,
            node_id=event.node_id,
            attempt=event.attempt,
            payload=event.payload,
            created_at=event.created_at,
        )

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()


class EventPageOut(Out):
    items: list[EventOut]
    next_after: int | None
    """Pass as `after` to read the next page; null when this page reached the end."""


class SignalOut(Out):
    id: str
    name: str
    payload: Any
    created_at: datetime
    consumed_by: str | None
    consumed_at: datetime | None

    @classmethod
    def of(cls, signal: Signal) -> SignalOut:
        return cls(
            id=signal.id,
            name=signal.name,
            payload=signal.payload,
            created_at=signal.created_at,
            consumed_by=signal.consumed_by,
            consumed_at=signal.consumed_at,
        )
