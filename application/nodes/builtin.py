"""The built-in executors: transform, condition, delay, wait_for_signal, sub_workflow,
for_each, noop."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import cast

from application.expressions import evaluate
from application.nodes.rendered_config import typed_config
from application.ports.executors import (
    Failed,
    InlineExecutor,
    NodeCall,
    NodeExecutor,
    NodeResult,
    StartChild,
    StartItems,
    Succeeded,
    Suspend,
)
from domain.definition import BUILTIN_KINDS, NodeKind
from domain.errors import ExpressionError
from domain.node_config import (
    ConditionConfig,
    DelayConfig,
    ForEachConfig,
    SubWorkflowConfig,
    WaitForSignalConfig,
)
from domain.policies import NodeError


class _Inline:
    """A node kind whose attempt is a pure function of its rendered config and context:
    the step decides it inside its own transaction (`decide`); `run` serves the registry."""

    inline = True

    def decide(self, call: NodeCall) -> NodeResult:
        raise NotImplementedError

    async def run(self, call: NodeCall) -> NodeResult:
        return self.decide(call)


class NoopExecutor(_Inline):
    """Does nothing and outputs nothing: a join point or a placeholder."""

    def decide(self, call: NodeCall) -> NodeResult:
        return Succeeded(output=None)


class TransformExecutor(_Inline):
    """Outputs its rendered `output` config: reshape data between nodes."""

    def decide(self, call: NodeCall) -> NodeResult:
        return Succeeded(output=call.config.get("output"))


class ConditionExecutor(_Inline):
    """Yields the label of the first case whose `if` expression is true, else the default."""

    def decide(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, ConditionConfig)
        if isinstance(config, Failed):
            return config
        try:
            for case in config.cases:
                if evaluate(case.expression, call.context, node_id=call.node_id):
                    return Succeeded(output={"label": case.when}, label=case.when)
        except ExpressionError as error:
            return Failed(NodeError("expression_error", error.message, retryable=False))
        if config.default is None:
            message = "no case matched and the condition has no default label"
            return Failed(NodeError("no_branch_matched", message, retryable=False))
        return Succeeded(output={"label": config.default}, label=config.default)


class DelayExecutor(_Inline):
    """Parks the node until a wake time; the execution is released meanwhile."""

    def decide(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, DelayConfig)
        if isinstance(config, Failed):
            return config
        if config.seconds is not None:
            wake_at = call.now + timedelta(seconds=float(config.seconds))
        else:
            wake_at = _as_datetime(config.until)
        return Suspend(waiting_for={"timer": wake_at.isoformat()}, wake_at=wake_at)


class WaitForSignalExecutor(_Inline):
    """Parks the node until a signal of its name arrives, or its timeout passes."""

    def decide(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, WaitForSignalConfig)
        if isinstance(config, Failed):
            return config
        wake_at = None
        if config.timeout_seconds is not None:
            wake_at = call.now + timedelta(seconds=float(config.timeout_seconds))
        return Suspend(waiting_for={"signal": config.signal}, wake_at=wake_at)


class SubWorkflowExecutor(_Inline):
    """Asks the engine to start a child execution and wait for its outcome."""

    def decide(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, SubWorkflowConfig)
        if isinstance(config, Failed):
            return config
        version = int(config.version) if config.version is not None else None
        return StartChild(workflow_id=config.workflow, input=config.input, version=version)


class ForEachExecutor(_Inline):
    """Asks the engine to run a workflow once per item and wait for all of them."""

    def decide(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, ForEachConfig)
        if isinstance(config, Failed):
            return config
        if not isinstance(config.items, list):
            message = f"items must yield a list, not {type(config.items).__name__}"
            return Failed(NodeError("invalid_items", message, retryable=False))
        return StartItems(
            workflow=config.workflow,
            items=config.items,
            input=config.input,
            version=int(config.version) if config.version is not None else None,
            parallelism=int(config.parallelism),
            on_item_error=config.on_item_error,
        )


def _as_datetime(value: datetime | str | None) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ExecutorMap:
    """A registry of executors by node kind."""

    def __init__(self, executors: Mapping[str, NodeExecutor]) -> None:
        self._executors = dict(executors)

    def get(self, kind: str) -> NodeExecutor:
        return self._executors[kind]

    def has(self, kind: str) -> bool:
        return kind in self._executors

    def kinds(self) -> tuple[str, ...]:
        """Every kind this map runs, built-in ones first."""
        return tuple(self._executors)

    def extension_kinds(self) -> tuple[str, ...]:
        """The kinds it runs that installed packages add (sorted)."""
        return tuple(sorted(kind for kind in self._executors if kind not in BUILTIN_KINDS))

    def with_executors(self, extra: Mapping[str, NodeExecutor]) -> ExecutorMap:
        return ExecutorMap({**self._executors, **extra})


def builtin_executors() -> ExecutorMap:
    """The executors that need no network; add http_request and ai_prompt from adapters."""
    return ExecutorMap(
        {
            NodeKind.NOOP: NoopExecutor(),
            NodeKind.TRANSFORM: TransformExecutor(),
            NodeKind.CONDITION: ConditionExecutor(),
            NodeKind.DELAY: DelayExecutor(),
            NodeKind.WAIT_FOR_SIGNAL: WaitForSignalExecutor(),
            NodeKind.SUB_WORKFLOW: SubWorkflowExecutor(),
            NodeKind.FOR_EACH: ForEachExecutor(),
        }
    )


def inline_decider(executor: NodeExecutor) -> InlineExecutor | None:
    """The executor as a pure decision, when its kind runs inside the step's transaction."""
    if getattr(executor, "inline", False) and callable(getattr(executor, "decide", None)):
        return cast(InlineExecutor, executor)
    return None
