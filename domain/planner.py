"""The planner: from a definition and its node runs, decide what becomes ready or skipped,
and whether the execution has finished, with which outcome."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
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


def failure_error(run: NodeRun) -> dict[str, Any]:
    """The error of an execution that `run`'s failure fails: the node's error and its id."""
    error = dict(run.error or {})
    error["node_id"] = run.node_id
    return error


def fails_fast(definition: WorkflowDefinition, run: NodeRun) -> bool:
    """Whether `run`'s failure ends the execution at once (`settings.fail_fast`), rather
    than once the independent branches have run to their end."""
    return definition.settings.fail_fast and failed_fatally(definition, run)


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


def plan_downstream(
    definition: WorkflowDefinition,
    runs: Mapping[str, NodeRun],
    changed: Iterable[str],
    order: Mapping[str, int],
) -> Plan:
    """`plan`, for the nodes downstream of `changed` only, without the outcome.

    When every other pending node was planned before and nothing upstream of it changed,
    this decides what `plan` would, at a cost in the nodes that changed and their edges
    rather than in the whole graph. `order` is each node's position in the topological
    order: the ready nodes come in the order `plan` gives them.
    """
    statuses: dict[str, NodeStatus] = {}
    reasons: dict[str, str | None] = {}
    ready: list[str] = []
    skipped: list[tuple[str, str]] = []
    queue = deque(edge.target for node_id in changed for edge in definition.outgoing[node_id])
    seen: set[str] = set()
    while queue:
        node_id = queue.popleft()
        if node_id in seen or runs[node_id].status is not NodeStatus.PENDING:
            continue
        view = _StatusView(runs, statuses)
        decision = _decide_pending(definition, runs, view, _ReasonView(runs, reasons), node_id)
        if decision is None:
            continue
        seen.add(node_id)
        if decision == "ready":
            ready.append(node_id)
            statuses[node_id] = NodeStatus.READY
        else:
            skipped.append((node_id, decision))
            statuses[node_id] = NodeStatus.SKIPPED
            reasons[node_id] = decision
            queue.extend(edge.target for edge in definition.outgoing[node_id])
    ready.sort(key=order.__getitem__)
    skipped.sort(key=lambda item: order[item[0]])
    return Plan(ready=tuple(ready), skipped=tuple(skipped))


class _StatusView(Mapping[str, NodeStatus]):
    """The runs' statuses, with the ones this plan decided laid over them."""

    def __init__(self, runs: Mapping[str, NodeRun], decided: Mapping[str, NodeStatus]) -> None:
        self._runs = runs
        self._decided = decided

    def __getitem__(self, node_id: str) -> NodeStatus:
        found = self._decided.get(node_id)
        return found if found is not None else self._runs[node_id].status

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


class _ReasonView(Mapping[str, str | None]):
    """The runs' skip reasons, with the ones this plan decided laid over them."""

    def __init__(self, runs: Mapping[str, NodeRun], decided: Mapping[str, str | None]) -> None:
        self._runs = runs
        self._decided = decided

    def __getitem__(self, node_id: str) -> str | None:
        if node_id in self._decided:
            return self._decided[node_id]
        return self._runs[node_id].skip_reason

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


def outcome(definition: WorkflowDefinition, runs: Mapping[str, NodeRun]) -> Outcome | None:
    """How the execution ended, once every node is final; None while one is not."""
    return _outcome(definition, runs, {node_id: run.status for node_id, run in runs.items()})


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
        return Outcome(succeeded=False, error=failure_error(failures[0]))
    output = {
        node_id: runs[node_id].output
        for node_id in definition.sink_nodes
        if statuses[node_id] is NodeStatus.SUCCEEDED
    }
    return Outcome(succeeded=True, output=output)
