"""The workflow definition: nodes, edges and settings, as frozen values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from domain.flow_control import ConcurrencyLimit, RateLimit
from domain.policies import RetryPolicy
from domain.priority import DEFAULT_PRIORITY, DEFAULT_QUEUE


class NodeKind(StrEnum):
    HTTP_REQUEST = "http_request"
    AI_PROMPT = "ai_prompt"
    TRANSFORM = "transform"
    CONDITION = "condition"
    DELAY = "delay"
    WAIT_FOR_SIGNAL = "wait_for_signal"
    SUB_WORKFLOW = "sub_workflow"
    FOR_EACH = "for_each"
    NOOP = "noop"


BUILTIN_KINDS = frozenset(NodeKind)

EXTENSION_KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){0,3}$")
"""A node kind that an installed package adds: lower-case words joined by `_`, optionally
namespaced with dots (`crm.lookup_customer`)."""


def builtin_kind(kind: str) -> NodeKind | None:
    """The built-in kind named `kind`, or None for a kind a package adds."""
    return NodeKind(kind) if kind in BUILTIN_KINDS else None


class OnError(StrEnum):
    FAIL = "fail"
    CONTINUE = "continue"


ERROR_LABEL = "error"
BRANCHING_KINDS = frozenset({NodeKind.CONDITION})


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    """A `NodeKind` for the built-in kinds, else the name of a kind an installed package adds."""
    config: Mapping[str, Any] = field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout: timedelta | None = None
    on_error: OnError = OnError.FAIL
    name: str | None = None
    ui: Mapping[str, Any] | None = None
    """What an editor keeps about the node, such as its place on the console's canvas
    (`{"x": 120, "y": 40}`); the engine ignores it."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    when: str | None = None

    def is_error_edge(self) -> bool:
        return self.when == ERROR_LABEL


@dataclass(frozen=True)
class WorkflowSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    execution_timeout: timedelta | None = None
    fail_fast: bool = False
    """The first node that fails for good fails the execution at once, cancelling the
    rest; by default the independent branches run to their end first."""
    allow_recursion: bool = False
    """The workflow may start itself through `sub_workflow` or `for_each` nodes, directly
    or through other workflows; by default saving such a workflow is refused."""
    concurrency: ConcurrencyLimit | None = None
    """At most this many executions in progress at once (per key); see `flow_control`."""
    rate_limit: RateLimit | None = None
    """At most this many executions started per period (per key)."""
    priority: int = DEFAULT_PRIORITY
    """The priority of a run that does not ask for one (0-9, higher first); see `priority`."""
    queue: str = DEFAULT_QUEUE
    """The queue its executions are put on: only workers serving it claim them."""


@dataclass(frozen=True)
class WorkflowDefinition:
    """A validated directed acyclic graph of nodes; build it with `domain.validation`."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    settings: WorkflowSettings = field(default_factory=WorkflowSettings)

    @cached_property
    def by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def incoming(self) -> dict[str, tuple[Edge, ...]]:
        found: dict[str, list[Edge]] = {node.id: [] for node in self.nodes}
        for edge in self.edges:
            found.setdefault(edge.target, []).append(edge)
        return {key: tuple(value) for key, value in found.items()}

    @cached_property
    def outgoing(self) -> dict[str, tuple[Edge, ...]]:
        found: dict[str, list[Edge]] = {node.id: [] for node in self.nodes}
        for edge in self.edges:
            found.setdefault(edge.source, []).append(edge)
        return {key: tuple(value) for key, value in found.items()}

    @cached_property
    def extension_kinds(self) -> tuple[str, ...]:
        """The kinds its nodes use that installed packages add (sorted): only workers that
        have them all can run it."""
        return tuple(sorted({node.kind for node in self.nodes if node.kind not in BUILTIN_KINDS}))

    @cached_property
    def start_nodes(self) -> tuple[str, ...]:
        return tuple(node.id for node in self.nodes if not self.incoming[node.id])

    @cached_property
    def sink_nodes(self) -> tuple[str, ...]:
        return tuple(node.id for node in self.nodes if not self.outgoing[node.id])

    @cached_property
    def topological_order(self) -> tuple[str, ...]:
        """Node ids in an order where every edge points forward (Kahn, stable by position)."""
        remaining = {node.id: len(self.incoming[node.id]) for node in self.nodes}
        queue = [node.id for node in self.nodes if remaining[node.id] == 0]
        order: list[str] = []
        while queue:
            current = queue.pop(0)
            order.append(current)
            for edge in self.outgoing[current]:
                remaining[edge.target] -= 1
                if remaining[edge.target] == 0:
                    queue.append(edge.target)
        return tuple(order)

    def node(self, node_id: str) -> Node:
        return self.by_id[node_id]

    def retry_policy(self, node_id: str) -> RetryPolicy:
        return self.by_id[node_id].retry or self.settings.retry

    def predecessors(self, node_id: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edge.source for edge in self.incoming[node_id]))
