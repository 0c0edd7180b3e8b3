"""What a step needs to know besides the held execution, fetched before it is decided.

The group committer fetches these for a whole batch (one query per kind) while the rows
are locked; the decision only reads them. What a step will need is mostly known from the
held execution (the signals and children its nodes wait on, the secrets and workflows its
unfinished nodes name); when a template names one only at run time, the decision stops
with `MissingFacts` and the committer fetches it and decides again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.ports.unit_of_work import ItemChild, ItemProgress, ItemsAt
from application.records import Signal, Workflow
from domain.definition import WorkflowDefinition
from domain.status import ExecutionStatus

SIGNALS_PER_NAME = 32
"""How many of an execution's unconsumed signals of one name a step is given (oldest
first); nodes waiting beyond that take theirs in a later step."""

WorkflowKey = tuple[str, int | None]
"""A workflow a `sub_workflow` or `for_each` node names (by name or id), and the version it
asks for (None: the latest)."""
ITEMS_WINDOW = 256
"""How many items past its next one a `for_each` step looks at: the ones started earlier
(before a retry) are skipped or restarted, the others started."""


@dataclass(frozen=True)
class ChildOutcome:
    """How a sub-workflow execution stands, as its parent's waiting node needs it."""

    status: ExecutionStatus
    output: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChildWorkflow:
    """The workflow a `sub_workflow` node starts, at the version it will run."""

    workflow: Workflow
    version: int
    definition: WorkflowDefinition


@dataclass(frozen=True)
class Needs:
    """What one step will read: signal names, child ids, secret names, workflows."""

    signals: frozenset[str] = frozenset()
    children: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    workflows: frozenset[WorkflowKey] = frozenset()
    items: frozenset[ItemsAt] = frozenset()
    """The `for_each` nodes whose progress the step reads, each from its next item on."""
    outcomes: frozenset[ItemsAt] = frozenset()
    """The `for_each` nodes whose items all ended: their outputs, to assemble."""

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            self.signals | other.signals,
            self.children | other.children,
            self.secrets | other.secrets,
            self.workflows | other.workflows,
            self.items | other.items,
            self.outcomes | other.outcomes,
        )

    @property
    def empty(self) -> bool:
        return not (
            self.signals
            or self.children
            or self.secrets
            or self.workflows
            or self.items
            or self.outcomes
        )


class MissingFacts(Exception):
    """The decision needs facts it was not given (a name a template computed at run time)."""

    def __init__(self, needs: Needs) -> None:
        super().__init__("the step needs facts it was not given")
        self.needs = needs


@dataclass(frozen=True)
class Facts:
    """Everything a step reads besides the held execution.

    `signals` holds, per awaited name, the oldest unconsumed signals (oldest first);
    `children` the outcome of each waited child that has ended; `secrets` the values of
    the secrets that exist among those looked up (`looked_up` says which were), and
    `workflows` each named workflow (None when it is missing or archived).
    """

    now: datetime
    rng: Callable[[], float]
    new_id: Callable[[str], str]
    signals: Mapping[str, Sequence[Signal]] = field(default_factory=dict)
    children: Mapping[str, ChildOutcome | None] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    looked_up: Needs = Needs()
    workflows: Mapping[WorkflowKey, ChildWorkflow | None] = field(default_factory=dict)
    items: Mapping[ItemsAt, ItemProgress] = field(default_factory=dict)
    outcomes: Mapping[ItemsAt, Sequence[ItemChild]] = field(default_factory=dict)

    def signals_named(self, name: str) -> Sequence[Signal]:
        if name not in self.looked_up.signals:
            raise MissingFacts(Needs(signals=frozenset({name})))
        return self.signals.get(name, ())

    def child(self, child_id: str) -> ChildOutcome | None:
        if child_id not in self.looked_up.children:
            raise MissingFacts(Needs(children=frozenset({child_id})))
        return self.children.get(child_id)

    def secret_values(self, names: set[str]) -> dict[str, str]:
        missing = frozenset(names) - self.looked_up.secrets
        if missing:
            raise MissingFacts(Needs(secrets=missing))
        return {name: self.secrets[name] for name in sorted(names) if name in self.secrets}

    def item_progress(self, at: ItemsAt) -> ItemProgress:
        if at not in self.looked_up.items:
            raise MissingFacts(Needs(items=frozenset({at})))
        return self.items.get(at, ItemProgress())

    def item_outcomes(self, at: ItemsAt) -> Sequence[ItemChild]:
        if at not in self.looked_up.outcomes:
            raise MissingFacts(Needs(outcomes=frozenset({at})))
        return self.outcomes.get(at, ())

    def workflow(self, key: WorkflowKey) -> ChildWorkflow | None:
        if key not in self.looked_up.workflows:
            raise MissingFacts(Needs(workflows=frozenset({key})))
        return self.workflows.get(key)
