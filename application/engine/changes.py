"""A batch of transitions for one leased execution, built in memory and committed at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.ports.executors import NodeCall
from application.ports.unit_of_work import StepFailure
from application.records import Lease
from domain.definition import WorkflowDefinition
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun


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


@dataclass
class Changes:
    """Transitions accumulated against a Held copy, not yet committed."""

    execution: Execution
    runs: dict[str, NodeRun]
    events: list[DomainEvent] = field(default_factory=list)
    changed: dict[str, NodeRun] = field(default_factory=dict)
    started: list[NodeCall] = field(default_factory=list)
    now: datetime | None = None

    @classmethod
    def on(cls, held: Held, now: datetime) -> Changes:
        return cls(execution=held.execution, runs=dict(held.runs), now=now)

    def node(self, step: tuple[NodeRun, list[DomainEvent]]) -> NodeRun:
        run, events = step
        self.runs[run.node_id] = run
        self.changed[run.node_id] = run
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
