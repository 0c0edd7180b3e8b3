"""Domain events: what happened to an execution, in the past tense, ready to append to history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EventType:
    """Stable names of the events an execution's history holds."""

    EXECUTION_CREATED = "execution_created"
    EXECUTION_STARTED = "execution_started"
    EXECUTION_RELEASED = "execution_released"
    EXECUTION_WAITING = "execution_waiting"
    EXECUTION_RESUMED = "execution_resumed"
    EXECUTION_COMPLETED = "execution_completed"
    EXECUTION_FAILED = "execution_failed"
    EXECUTION_CANCELLED = "execution_cancelled"
    EXECUTION_CANCEL_REQUESTED = "execution_cancel_requested"
    EXECUTION_TIMED_OUT = "execution_timed_out"
    EXECUTION_RETRIED = "execution_retried"
    EXECUTION_DEFERRED = "execution_deferred"
    EXECUTION_ADMITTED = "execution_admitted"
    NODE_READY = "node_ready"
    NODE_STARTED = "node_started"
    NODE_SUCCEEDED = "node_succeeded"
    NODE_FAILED = "node_failed"
    NODE_RETRY_SCHEDULED = "node_retry_scheduled"
    NODE_WAITING = "node_waiting"
    NODE_ITEMS_STARTED = "node_items_started"
    NODE_INTERRUPTED = "node_interrupted"
    NODE_SKIPPED = "node_skipped"
    NODE_CANCELLED = "node_cancelled"
    NODE_RESET = "node_reset"
    SIGNAL_RECEIVED = "signal_received"
    CHILD_FINISHED = "child_finished"


@dataclass(frozen=True)
class DomainEvent:
    type: str
    node_id: str | None = None
    attempt: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
