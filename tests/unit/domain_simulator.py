"""A small pure simulator that drives a workflow definition through the domain alone.

It loops plan → apply skips → start every ready node → apply each running node's next
scripted outcome, retrying as the node's policy decides, and records everything the
property tests check: each status change, what the predecessors looked like when a node
became ready, every attempt number and every backoff. No I/O, no real clock: time is a
datetime the simulator moves forward to each retry's wake time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import execution as ex
from domain import node_run as nr
from domain.definition import NodeKind, WorkflowDefinition
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.planner import Outcome, plan
from domain.policies import GiveUp, NodeError
from domain.status import ExecutionStatus, NodeStatus

START = datetime(2030, 1, 1, tzinfo=UTC)
WAITING_KINDS = frozenset({NodeKind.DELAY, NodeKind.WAIT_FOR_SIGNAL})


@dataclass(frozen=True)
class Succeed:
    """The attempt succeeds; a condition yields its labels[choice % len(labels)]."""

    choice: int = 0


@dataclass(frozen=True)
class Fail:
    kind: str
    retryable: bool
    rng_value: float = 0.0


@dataclass(frozen=True)
class Interrupt:
    """The attempt's worker is lost: the attempt runs again under the same number."""


Scripted = Succeed | Fail | Interrupt


@dataclass(frozen=True)
class Backoff:
    node_id: str
    attempt: int
    delay: timedelta


@dataclass
class Record:
    """Everything the simulation did, for the properties to inspect."""

    statuses: dict[str, list[NodeStatus]] = field(default_factory=dict)
    node_moves: list[tuple[NodeStatus, NodeStatus]] = field(default_factory=list)
    execution_moves: list[tuple[ExecutionStatus, ExecutionStatus]] = field(default_factory=list)
    events: list[tuple[str, DomainEvent]] = field(default_factory=list)
    ready_with: list[tuple[str, dict[str, NodeStatus]]] = field(default_factory=list)
    starts: list[tuple[str, int]] = field(default_factory=list)
    backoffs: list[Backoff] = field(default_factory=list)
    skips: dict[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None
    rounds: int = 0


def condition_labels(definition: WorkflowDefinition, node_id: str) -> list[str]:
    config = definition.node(node_id).config
    labels = [case["when"] for case in config.get("cases", [])]
    if config.get("default") is not None:
        labels.append(config["default"])
    return sorted(set(labels))


class Simulation:
    """One execution of `definition`, where node `n`'s k-th result is `scripts[n][k]`
    (a success once its script runs out)."""

    def __init__(
        self, definition: WorkflowDefinition, scripts: Mapping[str, Sequence[Scripted]]
    ) -> None:
        self.definition = definition
        self.scripts = {node.id: list(scripts.get(node.id, ())) for node in definition.nodes}
        self.runs = {node.id: NodeRun(node.id) for node in definition.nodes}
        self.now = START
        self.record = Record(statuses={node.id: [NodeStatus.PENDING] for node in definition.nodes})
        self.execution = Execution(
            id="e1",
            workspace_id="w",
            workflow_id="wf",
            version=1,
            status=ExecutionStatus.PENDING,
            input={},
            created_at=START,
        )

    def run(self, max_rounds: int) -> Record:
        """Drive the execution to its end; stops after `max_rounds` rounds regardless."""
        self._execution_step(ex.claim, self.now)
        while self.record.rounds < max_rounds and self.record.outcome is None:
            self.record.rounds += 1
            self._round()
        return self.record

    def _round(self) -> None:
        decided = plan(self.definition, self.runs)
        for node_id, reason in decided.skipped:
            self.record.skips[node_id] = reason
            self._node_step(node_id, nr.skip, reason)
        if decided.outcome is not None and not self._active():
            self._finish(decided.outcome)
            return
        for node_id in decided.ready:
            self._make_ready(node_id)
        self._wake_retries()
        for node_id, run in list(self.runs.items()):
            if run.status is NodeStatus.READY:
                self._start(node_id)
        for node_id, run in list(self.runs.items()):
            if run.status is NodeStatus.RUNNING:
                self._apply(node_id, self._next_result(node_id))

    def _active(self) -> bool:
        return any(not run.status.is_terminal for run in self.runs.values())

    def _make_ready(self, node_id: str) -> None:
        predecessors = self.definition.predecessors(node_id)
        seen = {source: self.runs[source].status for source in predecessors}
        self.record.ready_with.append((node_id, seen))
        self._node_step(node_id, nr.make_ready)

    def _wake_retries(self) -> None:
        for node_id, run in list(self.runs.items()):
            if run.status is NodeStatus.RETRYING:
                assert run.wake_at is not None
                self.now = max(self.now, run.wake_at)
                self._node_step(node_id, nr.make_ready)

    def _start(self, node_id: str) -> None:
        self.now += timedelta(milliseconds=1)
        started = self._node_step(node_id, nr.start_attempt, self.now)
        self.record.starts.append((node_id, started.attempt))

    def _next_result(self, node_id: str) -> Scripted:
        script = self.scripts[node_id]
        return script.pop(0) if script else Succeed()

    def _apply(self, node_id: str, result: Scripted) -> None:
        if isinstance(result, Interrupt):
            self._node_step(node_id, nr.interrupt, "worker_lost")
        elif isinstance(result, Fail):
            self._fail(node_id, result)
        else:
            self._succeed(node_id, result)

    def _succeed(self, node_id: str, result: Succeed) -> None:
        node = self.definition.node(node_id)
        if node.kind in WAITING_KINDS:
            # The shape real delay and wait-for-signal nodes park with.
            waiting_for = {"signal": "go"} if node.kind is NodeKind.WAIT_FOR_SIGNAL else {}
            self._node_step(node_id, nr.wait, None, waiting_for)
        labels = condition_labels(self.definition, node_id)
        label = labels[result.choice % len(labels)] if labels else None
        self._node_step(node_id, nr.succeed, self.now, {"from": node_id}, label)

    def _fail(self, node_id: str, result: Fail) -> None:
        error = NodeError(kind=result.kind, message="scripted", retryable=result.retryable)
        policy = self.definition.retry_policy(node_id)
        attempt = self.runs[node_id].attempt
        decision = policy.decide(attempt, error, result.rng_value)
        if isinstance(decision, GiveUp):
            self._node_step(node_id, nr.fail, self.now, error)
            return
        self.record.backoffs.append(Backoff(node_id, attempt, decision.delay))
        wake_at = self.now + decision.delay
        self._node_step(node_id, nr.schedule_retry, self.now, error, wake_at)

    def _node_step(self, node_id: str, move: Callable[..., nr.Step], *args: Any) -> NodeRun:
        before = self.runs[node_id]
        after, events = move(before, *args)
        self.runs[node_id] = after
        self.record.node_moves.append((before.status, after.status))
        self.record.statuses[node_id].append(after.status)
        self.record.events.extend((node_id, event) for event in events)
        return after

    def _finish(self, outcome: Outcome) -> None:
        self.record.outcome = outcome
        if outcome.succeeded:
            self._execution_step(ex.complete, self.now, outcome.output)
        else:
            self._execution_step(ex.fail, self.now, outcome.error or {})

    def _execution_step(self, move: Callable[..., ex.Step], *args: Any) -> None:
        before = self.execution
        self.execution, _ = move(before, *args)
        self.record.execution_moves.append((before.status, self.execution.status))
