"""One step of an execution's progress, computed inside a transaction.

Given the held execution and any node results that just arrived, the step records
the results, resolves nodes whose wait is over, asks the planner what is ready or
skipped, records the start of every ready attempt (running inline nodes at once),
and finishes the execution when the planner says it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from application.cancellation import cancel_child, waiting_children
from application.creation import insert_execution, wake_parent
from application.definitions import DefinitionCache
from application.engine.changes import Changes, Held
from application.engine.context import NodeCallBuilder
from application.nodes.builtin import is_inline
from application.ports.executors import (
    ExecutorRegistry,
    Failed,
    NodeResult,
    StartChild,
    Succeeded,
    Suspend,
)
from application.ports.unit_of_work import UnitOfWork
from application.redaction import redact
from domain import execution as ex
from domain import node_run as nr
from domain.execution import ParentLink
from domain.planner import outcome, plan, plan_downstream
from domain.policies import GiveUp, NodeError, is_past
from domain.status import ExecutionStatus, NodeStatus

MAX_INLINE_ROUNDS = 1000


class Stepper:
    """Computes the transitions of one step; the runner commits them."""

    def __init__(
        self,
        executors: ExecutorRegistry,
        calls: NodeCallBuilder,
        definitions: DefinitionCache,
        rng: Callable[[], float],
    ) -> None:
        self._executors = executors
        self._calls = calls
        self._definitions = definitions
        self._rng = rng

    async def open(self, uow: UnitOfWork, held: Held, changes: Changes, now: datetime) -> None:
        """Take over the execution: mark it running and recover attempts a dead worker held.

        An attempt left running was interrupted by its worker's end, not by its node: it
        is run again under the same number, whatever time has passed, and uses up no
        retry. A node's timeout is enforced only by the live worker running its body.
        """
        if changes.execution.status in (ExecutionStatus.PENDING, ExecutionStatus.WAITING):
            changes.exec(ex.claim(changes.execution, now))
        for run in list(changes.runs.values()):
            if run.status is NodeStatus.RUNNING:
                changes.apply(nr.interrupt, run.node_id, "worker_lost")

    async def advance(
        self,
        uow: UnitOfWork,
        held: Held,
        changes: Changes,
        now: datetime,
        results: Mapping[str, NodeResult],
    ) -> None:
        """Apply arrived results, then make as much progress as possible without waiting.

        Once a cancel is requested nothing more starts: the runner closes the execution.
        """
        if changes.execution.cancel_requested:
            return
        for node_id, result in results.items():
            await self._apply_result(uow, held, changes, node_id, result, now)
        # Within one transaction, a wait that did not end in one round does not end in the
        # next (same `now`, same signals and children): look each waiting node up once.
        looked_up: set[str] = set()
        # Each round looks only at the nodes changed since the round before, so a chain of
        # inline nodes costs a step time linear in its length; the first step of a claim
        # plans the whole graph.
        waits: Iterable[str] = held.parked | set(changes.touched)
        since: int | None = 0 if held.planned else None
        for _ in range(MAX_INLINE_ROUNDS):
            mark = len(changes.touched)
            await self._resolve_waits(uow, held, changes, now, looked_up, waits)
            if changes.execution.status.is_terminal:
                return
            planned = len(changes.touched)
            if not await self._plan_and_start(uow, held, changes, now, since):
                return
            waits, since = changes.touched[mark:], planned
        # Out of rounds with work left: the next step picks it up with a whole plan.
        changes.replan = True

    async def close(
        self, uow: UnitOfWork, changes: Changes, now: datetime, *, timed_out: bool
    ) -> None:
        """Cancel every unfinished node and end the execution as cancelled or timed out;
        sub-workflows it waits on are cancelled with it."""
        for child_id in waiting_children(changes.runs):
            await cancel_child(uow, child_id, now)
        for run in list(changes.runs.values()):
            if not run.status.is_terminal:
                changes.apply(nr.cancel, run.node_id, now)
        end = ex.time_out if timed_out else ex.cancel
        changes.exec(end(changes.execution, now))
        await wake_parent(uow, changes.execution, now)

    async def give_up(
        self, uow: UnitOfWork, changes: Changes, now: datetime, error: dict[str, Any]
    ) -> None:
        """End the execution `failed` with `error` without taking its step (the poison-pill
        rule): unfinished nodes and the sub-workflows it waits on are cancelled."""
        if changes.execution.status in (ExecutionStatus.PENDING, ExecutionStatus.WAITING):
            changes.exec(ex.claim(changes.execution, now))
        for child_id in waiting_children(changes.runs):
            await cancel_child(uow, child_id, now)
        for run in list(changes.runs.values()):
            if not run.status.is_terminal:
                changes.apply(nr.cancel, run.node_id, now)
        changes.exec(ex.fail(changes.execution, now, error))
        await wake_parent(uow, changes.execution, now)

    def park(self, changes: Changes) -> datetime | None:
        """Release the execution until its earliest wake time (or a signal or child)."""
        wakes = [run.wake_at for run in changes.runs.values() if run.wake_at is not None]
        if changes.execution.deadline_at is not None:
            wakes.append(changes.execution.deadline_at)
        wake_at = min(wakes) if wakes else None
        changes.exec(ex.park(changes.execution, wake_at))
        return wake_at

    async def _plan_and_start(
        self, uow: UnitOfWork, held: Held, changes: Changes, now: datetime, since: int | None
    ) -> bool:
        """Skip, ready and start nodes; True if inline nodes ran and another round may help.

        `since` None plans the whole graph; else only downstream of the nodes changed since
        that point of `changes.touched`.
        """
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
            await self._finish(uow, changes, now, ended.succeeded, ended.output, ended.error)
            return False
        for node_id in decided.ready:
            changes.apply(nr.make_ready, node_id)
        progressed = False
        for node_id in list(candidates):
            if changes.runs[node_id].status is NodeStatus.READY:
                progressed |= await self._start(uow, held, changes, node_id, now)
        return progressed

    async def _start(
        self, uow: UnitOfWork, held: Held, changes: Changes, node_id: str, now: datetime
    ) -> bool:
        node = held.definition.node(node_id)
        prepared = await self._calls.prepare(held, changes, node, now)
        if isinstance(prepared, Failed):
            changes.apply(nr.start_attempt, node_id, now, None)
            self._apply_failure(held, changes, node_id, prepared.error, now)
            return True
        call, stored_input = prepared
        changes.apply(nr.start_attempt, node_id, now, stored_input)
        executor = self._executors.get(node.kind)
        call = self._calls.for_attempt(call, changes.runs[node_id].attempt)
        if not is_inline(executor):
            changes.started.append(call)
            return False
        result = await executor.run(call)
        await self._apply_result(uow, held, changes, node_id, result, now)
        return True

    async def _apply_result(
        self,
        uow: UnitOfWork,
        held: Held,
        changes: Changes,
        node_id: str,
        result: NodeResult,
        now: datetime,
    ) -> None:
        if changes.runs[node_id].status is not NodeStatus.RUNNING:
            return
        if isinstance(result, Succeeded):
            output = redact(result.output, held.secret_values)
            changes.apply(nr.succeed, node_id, now, output, result.label)
        elif isinstance(result, Failed):
            self._apply_failure(held, changes, node_id, result.error, now)
        elif isinstance(result, Suspend):
            changes.apply(nr.wait, node_id, result.wake_at, result.waiting_for)
        else:
            await self._start_child(uow, held, changes, node_id, result, now)

    def _apply_failure(
        self, held: Held, changes: Changes, node_id: str, error: NodeError, now: datetime
    ) -> None:
        error = NodeError(
            error.kind,
            redact(error.message, held.secret_values),
            error.retryable,
            redact(error.details, held.secret_values),
        )
        run = changes.runs[node_id]
        decision = held.definition.retry_policy(node_id).decide(run.attempt, error, self._rng())
        if isinstance(decision, GiveUp):
            changes.apply(nr.fail, node_id, now, error)
        else:
            changes.apply(nr.schedule_retry, node_id, now, error, now + decision.delay)

    async def _start_child(
        self,
        uow: UnitOfWork,
        held: Held,
        changes: Changes,
        node_id: str,
        request: StartChild,
        now: datetime,
    ) -> None:
        workflow = await uow.workflows.get(held.execution.workspace_id, request.workflow_id)
        if workflow is None or workflow.archived:
            message = f"workflow {request.workflow_id!r} does not exist in this workspace"
            error = NodeError("workflow_not_found", message, retryable=False)
            self._apply_failure(held, changes, node_id, error, now)
            return
        version = request.version or workflow.latest_version
        definition = await self._definitions.load(uow, workflow.id, version)
        child = await insert_execution(
            uow,
            workflow=workflow,
            version=version,
            definition=definition,
            # The step refuses inputs rendered from secrets; this is the second net.
            input=redact(request.input, held.secret_values),
            now=now,
            parent=ParentLink(held.execution.id, node_id),
        )
        changes.apply(nr.wait, node_id, None, {"child": child.id})

    async def _resolve_waits(
        self,
        uow: UnitOfWork,
        held: Held,
        changes: Changes,
        now: datetime,
        looked_up: set[str],
        candidates: Iterable[str],
    ) -> None:
        for node_id in sorted(set(candidates), key=held.position.__getitem__):
            run = changes.runs[node_id]
            if run.status is NodeStatus.RETRYING and is_past(run.wake_at, now):
                changes.apply(nr.make_ready, run.node_id)
            elif run.status is NodeStatus.WAITING and run.node_id not in looked_up:
                looked_up.add(run.node_id)
                await self._resolve_wait(uow, held, changes, run.node_id, now)

    async def _resolve_wait(
        self, uow: UnitOfWork, held: Held, changes: Changes, node_id: str, now: datetime
    ) -> None:
        run = changes.runs[node_id]
        waiting_for: dict[str, Any] = run.waiting_for or {}
        if "signal" in waiting_for:
            taken = await uow.signals.take_oldest(
                held.execution.id, str(waiting_for["signal"]), node_id, now
            )
            if taken is not None:
                output = {"signal": taken.name, "payload": taken.payload}
                changes.apply(nr.succeed, node_id, now, output, None)
            elif is_past(run.wake_at, now):
                message = f"no signal {waiting_for['signal']!r} arrived before the timeout"
                changes.apply(nr.fail, node_id, now, NodeError("signal_timeout", message, False))
        elif "child" in waiting_for:
            await self._resolve_child(uow, changes, node_id, str(waiting_for["child"]), now)
        elif is_past(run.wake_at, now):
            changes.apply(nr.succeed, node_id, now, {"waited_until": waiting_for.get("timer")})

    async def _resolve_child(
        self, uow: UnitOfWork, changes: Changes, node_id: str, child_id: str, now: datetime
    ) -> None:
        child = await uow.executions.get(child_id)
        if child is None or not child.status.is_terminal:
            return
        if child.status is ExecutionStatus.COMPLETED:
            changes.apply(nr.succeed, node_id, now, child.output, None)
            return
        message = f"sub-workflow execution {child_id} ended {child.status.value}"
        details: dict[str, object] = {"child_execution_id": child_id, "error": child.error}
        error = NodeError(f"child_{child.status.value}", message, False, details)
        changes.apply(nr.fail, node_id, now, error)

    async def _finish(
        self,
        uow: UnitOfWork,
        changes: Changes,
        now: datetime,
        succeeded: bool,
        output: Any,
        error: dict[str, Any] | None,
    ) -> None:
        if succeeded:
            changes.exec(ex.complete(changes.execution, now, output))
        else:
            changes.exec(ex.fail(changes.execution, now, error or {}))
        await wake_parent(uow, changes.execution, now)


def wake_in(changes: Changes, now: datetime) -> float | None:
    """Seconds until the earliest node wake time of a running execution, if any."""
    wakes = [run.wake_at for run in changes.runs.values() if run.wake_at is not None]
    if changes.execution.deadline_at is not None:
        wakes.append(changes.execution.deadline_at)
    if not wakes:
        return None
    return max((min(wakes) - now) / timedelta(seconds=1), 0.0)
