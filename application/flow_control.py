"""Admitting an execution under its workflow's flow control as a worker opens it.

An execution of a workflow with `settings.concurrency` takes one of its key's slots, or
waits (parked, not claimable) until an execution of the same key ends and hands its slot
on (`application.creation`); one with `settings.rate_limit` counts in the current rate
window, or waits for the next one. Both are read and written under the row locks of the
step's own transaction, so no two workers can overrun a limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.expressions import evaluate
from application.ports.unit_of_work import UnitOfWork
from domain import execution as ex
from domain.definition import WorkflowDefinition
from domain.errors import ExpressionError
from domain.execution import Execution
from domain.flow_control import NO_KEY, concurrency_reason, rate_reason, rate_window


@dataclass(frozen=True)
class Deferred:
    """The execution may not start yet: it waits until `wake_at` (for a slot: its deadline,
    if any, unless a slot is handed to it first), for `reason`, counting under the
    concurrency key `flow_key`."""

    wake_at: datetime | None
    reason: dict[str, Any]
    flow_key: str | None


class FlowKeyError(Exception):
    """A limit's key expression failed on the execution's input."""


def needs_admission(definition: WorkflowDefinition, execution: Execution) -> bool:
    """Whether the execution must pass its workflow's limits before it runs: it is under
    one, and holds no slot yet (a parked execution that was admitted keeps its slot)."""
    settings = definition.settings
    limited = settings.concurrency is not None or settings.rate_limit is not None
    return limited and not execution.holds_slot


def flow_key(expression: str | None, execution: Execution) -> str:
    """A limit's key for this execution: its expression evaluated over the input, as text."""
    if expression is None:
        return NO_KEY
    try:
        value = evaluate(expression, {"input": execution.input}, node_id="settings")
    except ExpressionError as error:
        raise FlowKeyError(error.message) from error
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class FlowKeys:
    """The keys an execution counts under: its concurrency key and its rate key (None
    where its workflow sets no such limit)."""

    slot: str | None
    rate: str | None


def keys_of(definition: WorkflowDefinition, execution: Execution) -> FlowKeys:
    """Evaluate the limits' keys on the execution's input; raises FlowKeyError."""
    concurrency, rate = definition.settings.concurrency, definition.settings.rate_limit
    return FlowKeys(
        flow_key(concurrency.key, execution) if concurrency is not None else None,
        flow_key(rate.key, execution) if rate is not None else None,
    )


async def admit(
    uow: UnitOfWork,
    execution: Execution,
    definition: WorkflowDefinition,
    keys: FlowKeys,
    now: datetime,
) -> Execution | Deferred:
    """Take the execution's place under its limits: the execution holding its slot, or
    how long it must wait."""
    concurrency, rate = definition.settings.concurrency, definition.settings.rate_limit
    workflow_id, key = execution.workflow_id, keys.slot
    admitted = execution
    if concurrency is not None and key is not None:
        taken, running = await uow.flow.acquire_slot(workflow_id, key, concurrency.limit)
        if not taken:
            # It waits for a slot to be handed to it, or for its deadline to end it.
            reason = concurrency_reason(key, running, concurrency.limit)
            return Deferred(execution.deadline_at, reason, key)
        admitted = ex.take_slot(execution, key)
    if rate is not None and keys.rate is not None:
        start, end = rate_window(now, rate.period)
        if not await uow.flow.take_rate(workflow_id, keys.rate, start, rate.limit):
            if key is not None:  # nobody waits for a slot that was free a moment ago
                await uow.flow.release_slot(workflow_id, key)
            return Deferred(end, rate_reason(keys.rate, end), key)
    return admitted
