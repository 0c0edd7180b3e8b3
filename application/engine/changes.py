"""A batch of transitions for one leased execution, built in memory and committed at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.engine.effects import Effect
from application.ports.executors import NodeCall
from application.ports.unit_of_work import StepFailure
from application.records import Lease
from domain.definition import WorkflowDefinition
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import NodeStatus


@dataclass
class Held:
    """The worker's working copy of an execution it holds a lease on.

    Only the lease holder writes node runs, so after each commit this copy is
    the truth for them; the execution row may also be touched by other writers
    (cancel requests, signals, children finishing), which move its `seq`.
    """

    lease: Lease
    execution: Execution
    runs: dict[str, NodeRun]
    definition: WorkflowDefinition
    secret_values: set[str] = field(default_factory=set)
    step_failure: StepFailure | None = None
    """How its last steps failed, until a step of this worker's commits."""
    last_changed: dict[str, NodeRun] = field(default_factory=dict)
    """The node runs the last committed step changed (what its trace records)."""
    planned: bool = False
    """Whether a committed step planned the whole graph: later steps plan only what lies
    downstream of the nodes they change."""
    unfinished: int = field(init=False)
    """How many node runs are not final: the execution may end only at 0."""
    parked: set[str] = field(init=False)
    """The nodes waiting (a timer, a signal, a child) or retrying later."""
    order: dict[str, int] = field(init=False)
    """Each node's position in the topological order (the order the planner decides in)."""
    position: dict[str, int] = field(init=False)
    """Each node's position in the definition (the order its runs are stepped in)."""
    finished: dict[str, dict[str, Any]] = field(init=False)
    """What templates see of each finished node (`nodes.<id>`), kept as nodes finish:
    building it from every run for every node made a step quadratic."""

    def __post_init__(self) -> None:
        self.finished = {
            node_id: template_view(run)
            for node_id, run in self.runs.items()
            if run.status.is_terminal
        }
        self.unfinished = sum(not run.status.is_terminal for run in self.runs.values())
        self.parked = {node_id for node_id, run in self.runs.items() if _parks(run)}
        self.order = {node_id: i for i, node_id in enumerate(self.definition.topological_order)}
        self.position = {node_id: i for i, node_id in enumerate(self.runs)}

    def absorb(self, execution: Execution, changes: Changes) -> None:
        """Take in a committed step: the saved row and the node runs it changed."""
        self.execution = execution
        self.runs.update(changes.changed)
        self.last_changed = changes.changed
        self.finished = changes.finished
        self.secret_values |= changes.secret_values
        self.unfinished = changes.unfinished
        for node_id, run in changes.changed.items():
            if _parks(run):
                self.parked.add(node_id)
            else:
                self.parked.discard(node_id)
        self.planned = not changes.replan


def template_view(run: NodeRun) -> dict[str, Any]:
    """A finished node as templates read it: `nodes.<id>.output`, `.status`, `.error`, `.label`."""
    return {
        "output": run.output,
        "status": run.status.value,
        "error": run.error,
        "label": run.label,
    }


def _parks(run: NodeRun) -> bool:
    return run.status in (NodeStatus.WAITING, NodeStatus.RETRYING)


@dataclass
class Changes:
    """Transitions accumulated against a Held copy, not yet committed."""

    execution: Execution
    runs: dict[str, NodeRun]
    events: list[DomainEvent] = field(default_factory=list)
    changed: dict[str, NodeRun] = field(default_factory=dict)
    started: list[NodeCall] = field(default_factory=list)
    now: datetime | None = None
    touched: list[str] = field(default_factory=list)
    """Every node changed, in order (with repeats): a step reads what changed since a point."""
    unfinished: int = 0
    replan: bool = False
    """Whether the next step must plan the whole graph (this one stopped with work left)."""
    finished: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What templates see of the finished nodes, as of this step (see `Held.finished`)."""
    secret_values: set[str] = field(default_factory=set)
    """Secret values and texts computed from them: scrubbed from whatever is stored."""
    effects: list[Effect] = field(default_factory=list)
    """What the committer does beyond writing this execution (see `effects`)."""

    @classmethod
    def on(cls, held: Held, now: datetime) -> Changes:
        return cls(
            execution=held.execution,
            runs=dict(held.runs),
            now=now,
            unfinished=held.unfinished,
            finished=dict(held.finished),
            secret_values=set(held.secret_values),
        )

    def node(self, step: tuple[NodeRun, list[DomainEvent]]) -> NodeRun:
        run, events = step
        before = self.runs[run.node_id]
        self.unfinished += before.status.is_terminal - run.status.is_terminal
        self.runs[run.node_id] = run
        if run.status.is_terminal:
            self.finished[run.node_id] = template_view(run)
        elif before.status.is_terminal:
            del self.finished[run.node_id]  # retried from failure: no longer readable
        self.changed[run.node_id] = run
        self.touched.append(run.node_id)
        self.events.extend(events)
        return run

    def exec(self, step: tuple[Execution, list[DomainEvent]]) -> Execution:
        self.execution, events = step
        self.events.extend(events)
        return self.execution

    def apply(
        self, fn: Callable[..., tuple[NodeRun, list[DomainEvent]]], node_id: str, *args: Any
    ) -> NodeRun:
        return self.node(fn(self.runs[node_id], *args))

    @property
    def empty(self) -> bool:
        return not self.events
