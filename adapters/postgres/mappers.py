"""Plain functions between table rows and records of executions and their history: rows in,
frozen dataclasses out (the catalog and accounts are in `catalog_mappers`).

Times come back from the driver in the session's time zone; they are normalised to UTC so
records read from Postgres equal the ones the in-memory adapter keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping

from application.records import (
    Signal,
    StoredEvent,
)
from domain.events import DomainEvent
from domain.execution import Execution, ParentLink
from domain.node_run import NodeRun
from domain.priority import DEFAULT_PRIORITY, DEFAULT_QUEUE
from domain.status import ExecutionStatus, NodeStatus

Row = RowMapping | Mapping[str, Any]


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def execution_to_row(execution: Execution) -> dict[str, Any]:
    parent = execution.parent
    return {
        "id": execution.id,
        "workspace_id": execution.workspace_id,
        "workflow_id": execution.workflow_id,
        "version": execution.version,
        "status": execution.status.value,
        "input": execution.input,
        "output": execution.output,
        "error": execution.error,
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "deadline_at": execution.deadline_at,
        "wake_at": execution.wake_at,
        "parent_execution_id": parent.execution_id if parent else None,
        "parent_node_id": parent.node_id if parent else None,
        "item_index": parent.item_index if parent else None,
        "schedule_id": execution.schedule_id,
        "scheduled_for": execution.scheduled_for,
        "cancel_requested": execution.cancel_requested,
        "rerun_of": execution.rerun_of,
        "depth": execution.depth,
        "priority": execution.priority,
        "queue": execution.queue,
        "required_kinds": list(execution.required_kinds),
        "flow_key": execution.flow_key,
        "holds_slot": execution.holds_slot,
        "waiting_reason": execution.waiting_reason,
        "seq": execution.seq,
        "trace_context": execution.trace_context,
    }


def row_to_execution(row: Row) -> Execution:
    parent = None
    if row["parent_execution_id"] is not None:
        parent = ParentLink(
            row["parent_execution_id"], row["parent_node_id"], row.get("item_index")
        )
    return Execution(
        id=row["id"],
        workspace_id=row["workspace_id"],
        workflow_id=row["workflow_id"],
        version=row["version"],
        status=ExecutionStatus(row["status"]),
        input=row["input"],
        created_at=as_utc(row["created_at"]),
        output=row["output"],
        error=row["error"],
        started_at=utc(row["started_at"]),
        finished_at=utc(row["finished_at"]),
        deadline_at=utc(row["deadline_at"]),
        wake_at=utc(row["wake_at"]),
        parent=parent,
        schedule_id=row["schedule_id"],
        scheduled_for=utc(row["scheduled_for"]),
        cancel_requested=row["cancel_requested"],
        rerun_of=row["rerun_of"],
        depth=row["depth"],
        priority=row.get("priority", DEFAULT_PRIORITY),
        queue=row.get("queue", DEFAULT_QUEUE),
        required_kinds=tuple(row.get("required_kinds") or ()),
        flow_key=row.get("flow_key"),
        holds_slot=bool(row.get("holds_slot", False)),
        waiting_reason=row.get("waiting_reason"),
        seq=row["seq"],
        trace_context=row.get("trace_context"),
    )


def node_run_to_row(execution_id: str, run: NodeRun, position: int) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "node_id": run.node_id,
        "position": position,
        "status": run.status.value,
        "attempt": run.attempt,
        "input": run.input,
        "output": run.output,
        "error": run.error,
        "label": run.label,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "wake_at": run.wake_at,
        "waiting_for": run.waiting_for,
        "skip_reason": run.skip_reason,
    }


def json_to_node_run(value: Mapping[str, Any]) -> NodeRun:
    """A node run read as JSON (`to_jsonb` of its row), whose times arrive as ISO 8601 text."""
    row = dict(value)
    for name in ("started_at", "finished_at", "wake_at"):
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name])
    return row_to_node_run(row)


def row_to_node_run(row: Row) -> NodeRun:
    return NodeRun(
        node_id=row["node_id"],
        status=NodeStatus(row["status"]),
        attempt=row["attempt"],
        input=row["input"],
        output=row["output"],
        error=row["error"],
        label=row["label"],
        started_at=utc(row["started_at"]),
        finished_at=utc(row["finished_at"]),
        wake_at=utc(row["wake_at"]),
        waiting_for=row["waiting_for"],
        skip_reason=row["skip_reason"],
    )


def event_to_row(execution_id: str, seq: int, event: DomainEvent, at: datetime) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "seq": seq,
        "type": event.type,
        "node_id": event.node_id,
        "attempt": event.attempt,
        "payload": dict(event.payload),
        "created_at": at,
    }


def row_to_event(row: Row) -> StoredEvent:
    return StoredEvent(
        execution_id=row["execution_id"],
        seq=row["seq"],
        type=row["type"],
        node_id=row["node_id"],
        attempt=row["attempt"],
        payload=row["payload"],
        created_at=as_utc(row["created_at"]),
    )


def signal_to_row(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.id,
        "execution_id": signal.execution_id,
        "name": signal.name,
        "payload": signal.payload,
        "created_at": signal.created_at,
        "consumed_by": signal.consumed_by,
        "consumed_at": signal.consumed_at,
    }


def row_to_signal(row: Row) -> Signal:
    return Signal(
        id=row["id"],
        execution_id=row["execution_id"],
        name=row["name"],
        payload=row["payload"],
        created_at=as_utc(row["created_at"]),
        consumed_by=row["consumed_by"],
        consumed_at=utc(row["consumed_at"]),
    )
