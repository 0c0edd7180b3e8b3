"""The node executor port: what a node's body receives and what it may answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.policies import NodeError


@dataclass(frozen=True)
class NodeCall:
    """One attempt of one node, with its config already rendered from persisted state."""

    execution_id: str
    workspace_id: str
    workflow_id: str
    node_id: str
    kind: str
    attempt: int
    config: Mapping[str, Any]
    context: Mapping[str, Any]
    idempotency_key: str
    now: datetime
    deadline: datetime | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    # Secret values and the texts rendered from them: a body that must cut text (an
    # excerpt) scrubs these first, so a cut cannot leave part of one in clear.
    sensitive_texts: frozenset[str] = frozenset()
    trace_headers: Mapping[str, str] = field(default_factory=dict)
    """The W3C trace context (`traceparent`, `tracestate`) of the attempt's span, which a
    body that calls a service sends along (empty when tracing is off)."""


@dataclass(frozen=True)
class Succeeded:
    output: Any = None
    label: str | None = None


@dataclass(frozen=True)
class Failed:
    error: NodeError


@dataclass(frozen=True)
class Suspend:
    """Park the node: resume at `wake_at`, and/or when what `waiting_for` names arrives."""

    waiting_for: dict[str, Any]
    wake_at: datetime | None = None


@dataclass(frozen=True)
class StartChild:
    """Start a sub-workflow execution and wait for its outcome."""

    workflow_id: str
    input: Any = None
    version: int | None = None


@dataclass(frozen=True)
class StartItems:
    """Run `workflow` once per item (a child execution each), at most `parallelism` at a
    time, and wait for them all. `input` is the per-item template (None: `{"item": item}`)."""

    workflow: str
    items: list[Any]
    input: Any = None
    version: int | None = None
    parallelism: int = 10
    on_item_error: str = "fail"


NodeResult = Succeeded | Failed | Suspend | StartChild | StartItems


class NodeExecutor(Protocol):
    async def run(self, call: NodeCall) -> NodeResult: ...


class InlineExecutor(Protocol):
    """A node kind whose attempt is a pure function of its rendered config and context,
    decided inside the step (transform, condition, and the bookkeeping of the waits)."""

    inline: bool

    def decide(self, call: NodeCall) -> NodeResult: ...


class ExecutorRegistry(Protocol):
    def get(self, kind: str) -> NodeExecutor:
        """The executor for a kind; raises KeyError when none is registered."""
        ...
