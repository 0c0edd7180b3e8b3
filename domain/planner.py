"""The planner: from a definition and its node runs, decide what becomes ready or skipped,
and whether the execution has finished, with which outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.definition import ERROR_LABEL, Edge, OnError, WorkflowDefinition
from domain.node_run import NodeRun
from domain.status import NodeStatus

UPSTREAM_FAILED = "upstream_failed"
NO_BRANCH_TAKEN = "no_branch_taken"


@dataclass(frozen=True)
class Outcome:
    """How a finished execution ended: completed with an output, or failed with an error."""

    succeeded: bool
    output: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    ready: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    outcome: Outcome | None = None


def failed_fatally(definition: WorkflowDefinition, run: NodeRun) -> bool:
    """A failure that fails the execution (the node did not ask to continue on error)."""
    return run.status is NodeStatus.FAILED and definition.node(run.node_id).on_error is OnError.FAIL


def edge_taken(edge: Edge, source: NodeRun) -> bool:
    """Whether control flowed along `edge` from its finished source."""
    if source.status is NodeStatus.SUCCEEDED:
        return edge.when is None or edge.when == source.label
    if source.status is NodeStatus.FAILED:
        return edge.when == ERROR_LABEL
    return False


def plan(definition: WorkflowDefinition, runs: Mapping[str, NodeRun]) -> Plan:
    """Decide the next ready and skipped nodes, propagating skips in one pass."""
    statuses = {node_id: run.status for node_id, run in runs.items()}
    reasons = {node_id: run.skip_reason for node_id, run in runs.items()}
    ready: list[str] = []
    skipped: list[tuple[str, str]] = []
    for node_id in definition.topological_order:
        if statuses[node_id] is not NodeStatus.PENDING:
            continue
        decision = _decide_pending(definition, runs, statuses, reasons, node_id)
        if decision is None:
            continue
        if decision == "ready":
            ready.append(node_id)
            statuses[node_id] = NodeStatus.READY
        else:
            skipped.append((node_id, decision))
            statuses[node_id] = NodeStatus.SKIPPED
            reasons[node_id] = decision
    outcome = _outcome(definition, runs, statuses)
    return Plan(ready=tuple(ready), skipped=tuple(skipped), outcome=outcome)


def _decide_pending(
    definition: WorkflowDefinition,
    runs: Mapping[str, NodeRun],
    statuses: Mapping[str, NodeStatus],
    reasons: Mapping[str, str | None],
    node_id: str,
) -> str | None:
    incoming = definition.incoming[node_id]
    if not incoming:
        return "ready"
    if not all(statuses[edge.source].is_terminal for edge in incoming):
        return None
    if any(_blocks_downstream(definition, runs[e.source], statuses, reasons) for e in incoming):
        return UPSTREAM_FAILED
    taken = any(
        statuses[edge.source] in (NodeStatus.SUCCEEDED, NodeStatus.FAILED)
        and edge_taken(edge, runs[edge.source])
        for edge in incoming
    )
    return "ready" if taken else NO_BRANCH_TAKEN


def _blocks_downstream(
    definition: WorkflowDefinition,
    source: NodeRun,
    statuses: Mapping[str, NodeStatus],
    reasons: Mapping[str, str | None],
) -> bool:
    """A fatal failure upstream stops everything that depends on it, however far down."""
    status = statuses[source.node_id]
    if status is NodeStatus.FAILED:
        return failed_fatally(definition, source)
    return status is NodeStatus.SKIPPED and reasons[source.node_id] == UPSTREAM_FAILED


def _outcome(
    definition: WorkflowDefinition,
    runs: Mapping[str, NodeRun],
    statuses: Mapping[str, NodeStatus],
) -> Outcome | None:
    if not all(status.is_terminal for status in statuses.values()):
        return None
    failures = [
        runs[node_id]
        for node_id in definition.topological_order
        if statuses[node_id] is NodeStatus.FAILED and failed_fatally(definition, runs[node_id])
    ]
    if failures:
        first = failures[0]
        error = dict(first.error or {})
        error["node_id"] = first.node_id
        return Outcome(succeeded=False, error=error)
    output = {
        node_id: runs[node_id].output
        for node_id in definition.sink_nodes
        if statuses[node_id] is NodeStatus.SUCCEEDED
    }
    return Outcome(succeeded=True, output=output)
