"""What Treadle's spans are called and what they carry, and how an execution's trace is
kept, through the tracing port (`application.ports.tracing`).

Every execution has a trace. Where it is created, it notes the trace it was started in
(`started_in`: the API request's, set by the API; for a sub-workflow or a `for_each` item,
its parent's execution span) and, on a retry, the trace it had; the first worker that
opens it records its `treadle.execution` span (a child of the caller's, linked to the
earlier trace or to a re-run's original) and stores that span's W3C context on the
execution with its opening step, so each worker that advances it later continues the same
trace, and the children it starts join it.

Attributes are ids, kinds, counts and statuses only: never an input, an output, a secret,
a body or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import replace

from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded, Suspend
from application.ports.tracing import Attributes, Carrier, Tracer
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import NodeStatus

EXECUTION_SPAN = "treadle.execution"
NODE_ATTEMPT_SPAN = "treadle.node"
STEP_SPAN = "treadle.step"
CLAIM_SPAN = "treadle.worker.claim"

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# Kept on an execution not opened yet: the trace it was started in, and one to link to.
_CALLER = "caller_"
_LINK = "link_"

# The node statuses that close an attempt: a span is recorded for each.
ATTEMPT_ENDED = frozenset(
    {NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.RETRYING, NodeStatus.CANCELLED}
)

started_in: ContextVar[Carrier | None] = ContextVar("treadle_started_in", default=None)
"""The trace context executions created here are started in (the API sets its request's);
None outside any trace, and always when tracing is off."""


def established(trace_context: Mapping[str, str] | None) -> Carrier | None:
    """The execution's own trace (its execution span's context), once a worker opened it."""
    if not trace_context or TRACEPARENT not in trace_context:
        return None
    return _headers(trace_context, "")


def _headers(trace_context: Mapping[str, str], prefix: str) -> dict[str, str] | None:
    parent = trace_context.get(prefix + TRACEPARENT)
    if parent is None:
        return None
    headers = {TRACEPARENT: parent}
    state = trace_context.get(prefix + TRACESTATE)
    if state:
        headers[TRACESTATE] = state
    return headers


def _prefixed(carrier: Carrier | None, prefix: str) -> dict[str, str]:
    return {prefix + name: value for name, value in (carrier or {}).items()}


def new_trace_context() -> dict[str, str] | None:
    """What a new execution keeps of the trace it is started in (None: none)."""
    return _prefixed(started_in.get(), _CALLER) or None


def retried_trace_context(
    execution: Execution, caller: Carrier | None = None
) -> dict[str, str] | None:
    """What a retried execution keeps: the trace it is retried in (`caller`, else
    `started_in`), and its earlier trace to link its new one to (a retry, maybe days
    later, starts a trace of its own)."""
    earlier = established(execution.trace_context)
    retried_in = caller if caller is not None else started_in.get()
    kept = {**_prefixed(retried_in, _CALLER), **_prefixed(earlier, _LINK)}
    return kept or None


def in_parent_trace(child: Execution, parent: Execution) -> Execution:
    """A sub-workflow or `for_each` item `parent` starts, to be opened in the parent's
    trace: its execution span becomes a child of the parent's. Unchanged when the parent
    has no trace of its own (tracing is off)."""
    # The parent's execution span, not the node's attempt span: an inline attempt's span
    # is recorded only when the attempt ends, after its children, so its id is not known
    # when the step that starts them is decided.
    caller = established(parent.trace_context)
    if caller is None:
        return child
    return replace(child, trace_context=_prefixed(caller, _CALLER))


def open_trace(tracer: Tracer, execution: Execution, original: Carrier | None = None) -> Execution:
    """The execution with its trace established: its execution span recorded (a child of
    the trace it was started in, linked to its earlier trace or to `original`, the trace of
    the execution it re-runs). Untouched when tracing is off or it has a trace already."""
    if not tracer.enabled or established(execution.trace_context) is not None:
        return execution
    kept = execution.trace_context or {}
    links = [link for link in (_headers(kept, _LINK), original) if link]
    attributes: dict[str, str | int | bool] = {**execution_attributes(execution)}
    if _headers(kept, _LINK):
        attributes["treadle.execution.retried"] = True
    span = tracer.start_span(
        EXECUTION_SPAN, parent=_headers(kept, _CALLER), links=links, attributes=attributes
    )
    span.end()
    return replace(execution, trace_context=span.carrier() or None)


def execution_attributes(execution: Execution) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "treadle.execution.id": execution.id,
        "treadle.workspace.id": execution.workspace_id,
        "treadle.workflow.id": execution.workflow_id,
        "treadle.workflow.version": execution.version,
        "treadle.execution.depth": execution.depth,
    }
    if execution.rerun_of is not None:
        attributes["treadle.execution.rerun_of"] = execution.rerun_of
    if execution.parent is not None:
        attributes["treadle.execution.parent_id"] = execution.parent.execution_id
    if execution.schedule_id is not None:
        attributes["treadle.schedule.id"] = execution.schedule_id
    return attributes


def call_attributes(call: NodeCall) -> Attributes:
    return {
        "treadle.execution.id": call.execution_id,
        "treadle.node.id": call.node_id,
        "treadle.node.kind": call.kind,
        "treadle.node.attempt": call.attempt,
    }


def result_attributes(result: NodeResult) -> dict[str, str]:
    """How a network attempt ended, as its span says it: a status and an error kind."""
    if isinstance(result, Failed):
        return {"treadle.node.status": "failed", "treadle.error.kind": result.error.kind}
    if isinstance(result, Succeeded):
        return {"treadle.node.status": "succeeded"}
    if isinstance(result, Suspend):
        return {"treadle.node.status": "waiting"}
    return {"treadle.node.status": "started_children"}


def run_attributes(execution_id: str, kind: str, run: NodeRun) -> dict[str, str | int]:
    """An attempt decided inside a step, as its span says it (from its committed run)."""
    attributes: dict[str, str | int] = {
        "treadle.execution.id": execution_id,
        "treadle.node.id": run.node_id,
        "treadle.node.kind": kind,
        "treadle.node.attempt": run.attempt,
        "treadle.node.status": run.status.value,
    }
    kind_of_error = (run.error or {}).get("kind")
    if isinstance(kind_of_error, str):
        attributes["treadle.error.kind"] = kind_of_error
    return attributes


def ended_attempts(runs: Sequence[NodeRun]) -> list[NodeRun]:
    """The runs whose attempt a step closed (succeeded, failed, retrying or cancelled)."""
    return [run for run in runs if run.status in ATTEMPT_ENDED and run.attempt > 0]
