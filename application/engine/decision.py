"""One step of an execution, decided: a pure function of the held execution and the facts.

Given what just arrived (node results, signals, children's outcomes) the step records the
results, resolves the waits that are over, asks the planner what is ready or skipped,
records the start of every ready attempt (deciding inline nodes at once) and finishes the
execution when the planner says it is done. It awaits nothing and calls no port: what it
would have done to other rows (take a signal, start or cancel a child, wake a parent) is
returned as effects for the group committer to carry out in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from application.cancellation import waiting_children, waiting_item_nodes
from application.creation import new_execution
from application.engine.changes import Changes, Held
from application.engine.context import prepare_call
from application.engine.effects import (
    CancelChild,
    CancelItems,
    ClearStepFailures,
    ConsumeSignal,
    InsertChild,
    WakeParent,
)
from application.engine.facts import SIGNALS_PER_NAME, ChildWorkflow, Facts
from application.engine.items import ForEachStep
from application.nodes.builtin import inline_decider
from application.ports.executors import (
    ExecutorRegistry,
    Failed,
    NodeResult,
    StartChild,
    StartItems,
    Succeeded,
    Suspend,
)
from application.redaction import redact
from application.tracing import in_parent_trace
from domain import execution as ex
from domain import node_run as nr
from domain.execution import ParentLink
from domain.planner import fails_fast, failure_error, outcome, plan, plan_downstream
from domain.policies import GiveUp, NodeError, is_past
from domain.status import ExecutionStatus, NodeStatus

MAX_INLINE_ROUNDS = 1000
DEFAULT_MAX_DEPTH = 16
"""How deeply sub-workflows may nest: a top-level execution is at depth 0, its child at 1;
a `sub_workflow` node whose child would be deeper fails with `max_depth_exceeded`."""
MAX_DEPTH_EXCEEDED = "max_depth_exceeded"


@dataclass(frozen=True)
class Advance:
    """Apply what arrived and make as much progress as possible; `opening` also takes the
    execution over (marks it running, recovers the attempts a dead worker left running)."""

    results: Mapping[str, NodeResult] = field(default_factory=dict)
    opening: bool = False


@dataclass(frozen=True)
class Park:
    """Nothing is running: release the execution until its next wake time, unless
    something became due meanwhile (then that is taken instead)."""


@dataclass(frozen=True)
class Close:
    """End the execution as cancelled (or timed out) with everything it still runs."""

    timed_out: bool = False


@dataclass(frozen=True)
class Defer:
    """Hold the execution back before it starts (flow control): parked until `wake_at`,
    or until a concurrency slot is handed to it; `reason` says why."""

    wake_at: datetime | None
    reason: dict[str, Any]
    flow_key: str | None


@dataclass(frozen=True)
class GiveUpOn:
    """End the execution `failed` with `error` without taking its step (poison pill)."""

    error: dict[str, Any] = field(default_factory=dict)


Request = Advance | Park | Close | Defer | GiveUpOn


def decide(
    held: Held,
    request: Request,
    facts: Facts,
    executors: ExecutorRegistry,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Changes:
    """The transitions and effects of one step of `held` (raises MissingFacts when a
    template named a fact the committer did not fetch); sub-workflows nest at most
    `max_depth` deep."""
    changes = Changes.on(held, facts.now)
    if held.step_failure is not None and not isinstance(request, GiveUpOn):
        changes.effects.append(ClearStepFailures(held.execution.id))
    if isinstance(request, Close):
        _close(changes, facts.now, timed_out=request.timed_out)
    elif isinstance(request, GiveUpOn):
        _give_up(held, changes, facts.now, request.error)
    elif isinstance(request, Defer):
        changes.exec(ex.defer(changes.execution, request.wake_at, request.reason, request.flow_key))
    else:
        _Step(held, changes, facts, executors, max_depth).take(request)
    return changes


def _close(changes: Changes, now: datetime, *, timed_out: bool) -> None:
    _end_everything(changes, now)
    end = ex.time_out if timed_out else ex.cancel
    changes.exec(end(changes.execution, now))
    _tell_parent(changes)


def _give_up(held: Held, changes: Changes, now: datetime, error: dict[str, Any]) -> None:
    changes.effects.append(ClearStepFailures(held.execution.id))
    if changes.execution.status in (ExecutionStatus.PENDING, ExecutionStatus.WAITING):
        changes.exec(ex.claim(changes.execution, now))
    _end_everything(changes, now)
    changes.exec(ex.fail(changes.execution, now, error))
    _tell_parent(changes)


def _end_everything(changes: Changes, now: datetime) -> None:
    """Cancel every unfinished node, and the sub-workflows and items the execution waits on."""
    changes.effects.extend(CancelChild(child) for child in waiting_children(changes.runs))
    execution_id = changes.execution.id
    for node_id in waiting_item_nodes(changes.runs):
        changes.effects.append(CancelItems(execution_id, node_id))
    for run in list(changes.runs.values()):
        if not run.status.is_terminal:
            changes.apply(nr.cancel, run.node_id, now)


def _tell_parent(changes: Changes) -> None:
    if changes.execution.parent is not None:
        changes.effects.append(WakeParent(changes.execution))


class _Step:
    """The working state of one `Advance` or `Park` decision."""

    def __init__(
        self,
        held: Held,
        changes: Changes,
        facts: Facts,
        executors: ExecutorRegistry,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.held = held
        self.max_depth = max_depth
        self.changes = changes
        self.facts = facts
        self.now = facts.now
        self.executors = executors
        self.taken: dict[str, int] = {}
        """How many of the fetched signals of each name this step has taken."""
        self.started_children: set[str] = set()
        """The children this step starts: they cannot have ended yet."""
        self.for_each = ForEachStep(self)
        self.checked = 0
        """How much of `changes.touched` was looked at for a failure that fails fast."""

    def take(self, request: Advance | Park) -> None:
        changes = self.changes
        if isinstance(request, Advance) and request.opening:
            self._open()
        if changes.execution.cancel_requested:
            return  # nothing more starts: the runner closes the execution
        results = request.results if isinstance(request, Advance) else {}
        self._advance(results)
        if isinstance(request, Park) and changes.empty and not changes.execution.status.is_terminal:
            park(changes)

    def _open(self) -> None:
        """Take over the execution: mark it running and recover attempts a dead worker held.

        An attempt left running was interrupted by its worker's end, not by its node: it
        is run again under the same number, whatever time has passed, and uses up no
        retry. A node's timeout is enforced only by the live worker running its body.
        """
        changes = self.changes
        if changes.execution.status in (ExecutionStatus.PENDING, ExecutionStatus.WAITING):
            changes.exec(ex.claim(changes.execution, self.now))
        for run in list(changes.runs.values()):
            if run.status is NodeStatus.RUNNING:
                changes.apply(nr.interrupt, run.node_id, "worker_lost")

    def _advance(self, results: Mapping[str, NodeResult]) -> None:
        changes, held = self.changes, self.held
        for node_id, result in results.items():
            self._apply_result(node_id, result)
        if self._failed_fast():
            return
        # Within one step a wait that did not end in one round does not end in the next
        # (same `now`, same signals and children): look each waiting node up once.
        looked_up: set[str] = set()
        # Each round looks only at the nodes changed since the round before, so a chain of
        # inline nodes costs a step time linear in its length; the first step of a claim
        # plans the whole graph.
        waits: Iterable[str] = held.parked | set(changes.touched)
        since: int | None = 0 if held.planned else None
        for _ in range(MAX_INLINE_ROUNDS):
            mark = len(changes.touched)
            self._resolve_waits(looked_up, waits)
            if changes.execution.status.is_terminal or self._failed_fast():
                return
            planned = len(changes.touched)
            progressed = self._plan_and_start(since)
            if self._failed_fast() or not progressed:
                return
            waits, since = changes.touched[mark:], planned
        # Out of rounds with work left: the next step picks it up with a whole plan.
        changes.replan = True

    def _failed_fast(self) -> bool:
        """With `settings.fail_fast`, end the execution `failed` as soon as a node fails for
        good: every unfinished node is cancelled (running bodies too: the runner stops them
        when it sees the execution ended), and so are the sub-workflows it waits on."""
        changes, definition = self.changes, self.held.definition
        if not definition.settings.fail_fast or changes.execution.status.is_terminal:
            return False
        recent = changes.touched[self.checked :]
        self.checked = len(changes.touched)
        failed = next((n for n in recent if fails_fast(definition, changes.runs[n])), None)
        if failed is None:
            return False
        changes.started.clear()  # their nodes are cancelled before their bodies begin
        _end_everything(changes, self.now)
        changes.exec(ex.fail(changes.execution, self.now, failure_error(changes.runs[failed])))
        _tell_parent(changes)
        return True

    def _plan_and_start(self, since: int | None) -> bool:
        """Skip, ready and start nodes; True if inline nodes ran and another round may help.

        `since` None plans the whole graph; else only downstream of the nodes changed since
        that point of `changes.touched`.
        """
        changes, held = self.changes, self.held
        if since is None:
            decided = plan(held.definition, changes.runs)
            candidates: Iterable[str] = changes.runs
        else:
            recent = dict.fromkeys(changes.touched[since:])
            decided = plan_downstream(held.definition, changes.runs, recent, held.order)
            candidates = sorted({*recent, *decided.ready}, key=held.position.__getitem__)
        for node_id, reason in decided.skipped:
            changes.apply(nr.skip, node_id, reason)
        if changes.unfinished == 0:
            ended = outcome(held.definition, changes.runs)
            assert ended is not None  # every node is final
            self._finish(ended.succeeded, ended.output, ended.error)
            return False
        for node_id in decided.ready:
            changes.apply(nr.make_ready, node_id)
        progressed = False
        for node_id in list(candidates):
            if changes.runs[node_id].status is NodeStatus.READY:
                progressed |= self._start(node_id)
        return progressed

    def _start(self, node_id: str) -> bool:
        changes = self.changes
        node = self.held.definition.node(node_id)
        prepared = prepare_call(self.held, changes, node, self.facts)
        if isinstance(prepared, Failed):
            changes.apply(nr.start_attempt, node_id, self.now, None)
            self.apply_failure(node_id, prepared.error)
            return True
        call, stored_input = prepared
        changes.apply(nr.start_attempt, node_id, self.now, stored_input)
        decider = inline_decider(self.executors.get(node.kind))
        if decider is None:
            changes.started.append(call)
            return False
        self._apply_result(node_id, decider.decide(call))
        return True

    def _apply_result(self, node_id: str, result: NodeResult) -> None:
        changes = self.changes
        if changes.runs[node_id].status is not NodeStatus.RUNNING:
            return
        if isinstance(result, Succeeded):
            output = redact(result.output, changes.secret_values)
            changes.apply(nr.succeed, node_id, self.now, output, result.label)
        elif isinstance(result, Failed):
            self.apply_failure(node_id, result.error)
        elif isinstance(result, Suspend):
            changes.apply(nr.wait, node_id, result.wake_at, result.waiting_for)
        elif isinstance(result, StartItems):
            self.for_each.start(node_id, result)
        else:
            self._start_child(node_id, result)

    def apply_failure(self, node_id: str, error: NodeError) -> None:
        changes = self.changes
        error = NodeError(
            error.kind,
            redact(error.message, changes.secret_values),
            error.retryable,
            redact(error.details, changes.secret_values),
        )
        run = changes.runs[node_id]
        policy = self.held.definition.retry_policy(node_id)
        decision = policy.decide(run.attempt, error, self.facts.rng())
        if isinstance(decision, GiveUp):
            changes.apply(nr.fail, node_id, self.now, error)
        else:
            changes.apply(nr.schedule_retry, node_id, self.now, error, self.now + decision.delay)

    def child_workflow(
        self, node_id: str, reference: str, version: int | None
    ) -> ChildWorkflow | None:
        """The workflow a node starts children of; None (the node failed) when they would
        nest too deep or it does not exist."""
        held = self.held
        depth = held.execution.depth + 1
        if depth > self.max_depth:
            message = (
                f"starting workflow {reference!r} here would nest sub-workflows"
                f" {depth} deep, beyond the limit of {self.max_depth}"
            )
            details: dict[str, object] = {"depth": depth, "max_depth": self.max_depth}
            self.apply_failure(node_id, NodeError(MAX_DEPTH_EXCEEDED, message, False, details))
            return None
        found = self.facts.workflow((reference, version))
        if found is None or found.workflow.workspace_id != held.execution.workspace_id:
            message = (
                f"node {node_id!r} names workflow {reference!r}, but workspace"
                f" {held.execution.workspace_id!r} has no workflow with that id or name"
                " (or it is archived)"
            )
            if version is not None:
                message += f", or it has no version {version}"
            self.apply_failure(node_id, NodeError("workflow_not_found", message, False))
            return None
        return found

    def _start_child(self, node_id: str, request: StartChild) -> None:
        changes, held = self.changes, self.held
        found = self.child_workflow(node_id, request.workflow_id, request.version)
        if found is None:
            return
        depth = held.execution.depth + 1
        child, first_event = new_execution(
            execution_id=self.facts.new_id("ex"),
            workflow=found.workflow,
            version=found.version,
            definition=found.definition,
            # The step refuses inputs rendered from secrets; this is the second net.
            input=redact(request.input, changes.secret_values),
            now=self.now,
            parent=ParentLink(held.execution.id, node_id),
            depth=depth,
            priority=held.execution.priority,
        )
        child = in_parent_trace(child, held.execution)
        node_ids = tuple(node.id for node in found.definition.nodes)
        changes.effects.append(InsertChild(child, node_ids, (first_event,)))
        self.started_children.add(child.id)
        changes.apply(nr.wait, node_id, None, {"child": child.id})

    def _resolve_waits(self, looked_up: set[str], candidates: Iterable[str]) -> None:
        changes, now = self.changes, self.now
        for node_id in sorted(set(candidates), key=self.held.position.__getitem__):
            run = changes.runs[node_id]
            if run.status is NodeStatus.RETRYING and is_past(run.wake_at, now):
                changes.apply(nr.make_ready, run.node_id)
            elif run.status is NodeStatus.WAITING and run.node_id not in looked_up:
                looked_up.add(run.node_id)
                self._resolve_wait(run.node_id)

    def _resolve_wait(self, node_id: str) -> None:
        changes, now = self.changes, self.now
        run = changes.runs[node_id]
        waiting_for: dict[str, Any] = run.waiting_for or {}
        if "signal" in waiting_for:
            self._take_signal(node_id, str(waiting_for["signal"]), run.wake_at)
        elif "child" in waiting_for:
            self._resolve_child(node_id, str(waiting_for["child"]))
        elif "for_each" in waiting_for:
            self.for_each.refill(node_id)
        elif is_past(run.wake_at, now):
            changes.apply(nr.succeed, node_id, now, {"waited_until": waiting_for.get("timer")})

    def _take_signal(self, node_id: str, name: str, wake_at: datetime | None) -> None:
        changes, now = self.changes, self.now
        waiting = self.facts.signals_named(name)
        taken = self.taken.get(name, 0)
        if taken < len(waiting):
            signal = waiting[taken]
            self.taken[name] = taken + 1
            changes.effects.append(ConsumeSignal(signal.id, self.held.execution.id, node_id))
            output = {"signal": signal.name, "payload": signal.payload}
            changes.apply(nr.succeed, node_id, now, output, None)
        elif len(waiting) >= SIGNALS_PER_NAME:
            return  # more may be waiting than this step was given: a later step looks
        elif is_past(wake_at, now):
            message = f"no signal {name!r} arrived before the timeout"
            changes.apply(nr.fail, node_id, now, NodeError("signal_timeout", message, False))

    def _resolve_child(self, node_id: str, child_id: str) -> None:
        changes, now = self.changes, self.now
        if child_id in self.started_children:
            return
        child = self.facts.child(child_id)
        if child is None or not child.status.is_terminal:
            return
        if child.status is ExecutionStatus.COMPLETED:
            changes.apply(nr.succeed, node_id, now, child.output, None)
            return
        message = f"sub-workflow execution {child_id} ended {child.status.value}"
        details: dict[str, object] = {"child_execution_id": child_id, "error": child.error}
        error = NodeError(f"child_{child.status.value}", message, False, details)
        changes.apply(nr.fail, node_id, now, error)

    def _finish(self, succeeded: bool, output: Any, error: dict[str, Any] | None) -> None:
        changes = self.changes
        if succeeded:
            changes.exec(ex.complete(changes.execution, self.now, output))
        else:
            changes.exec(ex.fail(changes.execution, self.now, error or {}))
        _tell_parent(changes)


def park(changes: Changes) -> datetime | None:
    """Release the execution until its earliest wake time (or a signal or child)."""
    wakes = [run.wake_at for run in changes.runs.values() if run.wake_at is not None]
    if changes.execution.deadline_at is not None:
        wakes.append(changes.execution.deadline_at)
    wake_at = min(wakes) if wakes else None
    changes.exec(ex.park(changes.execution, wake_at))
    return wake_at


def wake_in(held: Held, now: datetime) -> float | None:
    """Seconds until the earliest node wake time of a running execution, if any."""
    wakes = [run.wake_at for run in held.runs.values() if run.wake_at is not None]
    if held.execution.deadline_at is not None:
        wakes.append(held.execution.deadline_at)
    if not wakes:
        return None
    return max((min(wakes) - now) / timedelta(seconds=1), 0.0)
