"""The runner: advances one leased execution until it finishes, parks or loses its lease.

Every step is committed by the group committer, together with other executions' steps:
the execution's row is locked and re-read first (a cancel request, a signal or a child
finishing may have moved it), then the step is computed and saved as a fenced
compare-and-set; when the lease is gone, the runner stops writing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from application.definitions import DefinitionCache
from application.engine.changes import Held
from application.engine.decision import DEFAULT_MAX_DEPTH, Advance, Close, Park, Request, wake_in
from application.engine.group_commit import GroupCommitter, Opening
from application.engine.poison_pill import DEFAULT_POISON_PILL_AFTER, describe_failure
from application.errors import LeaseLost
from application.nodes.builtin import inline_decider
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.executors import ExecutorRegistry, Failed, NodeCall, NodeResult
from application.ports.tracing import NO_TRACING, Span, Tracer
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Lease
from application.tracing import (
    NODE_ATTEMPT_SPAN,
    STEP_SPAN,
    call_attributes,
    ended_attempts,
    established,
    result_attributes,
    run_attributes,
)
from domain.policies import NodeError, is_past
from domain.status import ExecutionStatus


class Ending(StrEnum):
    FINISHED = "finished"
    PARKED = "parked"
    LEASE_LOST = "lease_lost"
    GONE = "gone"


@dataclass(frozen=True)
class Advanced:
    execution_id: str
    ending: Ending
    status: str | None = None


class ExecutionRunner:
    """Runs the node bodies of leased executions; every step goes to the group committer."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        executors: ExecutorRegistry,
        definitions: DefinitionCache,
        rng: Callable[[], float],
        decryptor: Encryptor | None = None,
        commit_uow_factory: UnitOfWorkFactory | None = None,
        poison_pill_after: int = DEFAULT_POISON_PILL_AFTER,
        max_depth: int = DEFAULT_MAX_DEPTH,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        """`commit_uow_factory`, when given, serves the group committer, which uses one unit
        of work at a time (an adapter can keep a connection for it). `decryptor` opens the
        secrets node templates read (none without it). An execution whose step failed
        `poison_pill_after` times in a row the same way is ended `failed`; sub-workflows nest
        at most `max_depth` deep. `tracer` records each execution's steps and node attempts
        in its trace (see `application.tracing`)."""
        self._uow = uow_factory
        self._tracer = tracer
        self._poison_pill_after = poison_pill_after
        self._clock = clock
        self._executors = executors
        self._committer = GroupCommitter(
            commit_uow_factory or uow_factory,
            clock,
            definitions,
            executors,
            rng,
            decryptor,
            max_depth=max_depth,
            tracer=tracer,
        )

    async def advance(self, lease: Lease, cancelled: asyncio.Event | None = None) -> Advanced:
        cancelled = cancelled or asyncio.Event()
        tasks: dict[str, asyncio.Task[NodeResult]] = {}
        secrets: set[str] = set()
        try:
            opening = Opening(cancelled.is_set(), self._poison_pill_after)
            opening_at = self._clock.now()
            opened = await self._committer.open(lease, opening)
            if opened is None:
                return Advanced(lease.execution_id, Ending.GONE)
            held, started = opened
            if self._tracer.enabled and started is not None:
                self._trace_opening(held, opening_at)
            held.step_failure = None  # the first step committed: the count is forgotten
            secrets = held.secret_values
            if started is not None:
                self._spawn(held, tasks, started)
            return await self._drive(held, tasks, cancelled, opened=started is not None)
        except LeaseLost:
            return Advanced(lease.execution_id, Ending.LEASE_LOST)
        except Exception as error:
            await self._count_failed_step(lease, error, secrets)
            raise
        finally:
            for task in tasks.values():
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks.values(), return_exceptions=True)

    async def _count_failed_step(self, lease: Lease, error: Exception, secrets: set[str]) -> None:
        """Count the failure on the execution's row, for the poison-pill rule; when the
        database itself is away nothing is counted (the step is not to blame)."""
        kind, message = describe_failure(error, secrets)
        with contextlib.suppress(Exception):
            async with self._uow() as uow:
                await uow.executions.record_step_failure(lease, kind, message, self._clock.now())
                await uow.commit()

    def _closing(self, held: Held, cancelled: asyncio.Event) -> bool:
        return held.execution.cancel_requested or cancelled.is_set() or self._overdue(held)

    async def _drive(
        self,
        held: Held,
        tasks: dict[str, asyncio.Task[NodeResult]],
        cancelled: asyncio.Event,
        *,
        opened: bool,
    ) -> Advanced:
        results: dict[str, NodeResult] = {}
        step_taken = opened
        while True:
            if held.execution.status.is_terminal:
                return self._ended(held, Ending.FINISHED)
            if self._closing(held, cancelled):
                await self._close(held, tasks)
                continue
            if step_taken and held.execution.status is ExecutionStatus.WAITING and not tasks:
                return self._ended(held, Ending.PARKED)  # its opening deferred it (flow control)
            if not step_taken:
                started = await self._commit(held, Advance(results, opening=not opened))
                results, opened = {}, True
                self._spawn(held, tasks, started)
            step_taken = False
            if held.execution.status.is_terminal:
                continue
            if not tasks:
                parked, started = await self._park(held)
                if parked:
                    return self._ended(held, Ending.PARKED)
                self._spawn(held, tasks, started)
                continue
            results = await self._next_results(held, tasks, cancelled)

    async def _park(self, held: Held) -> tuple[bool, list[NodeCall]]:
        """Park unless something became due meanwhile (then return what it started)."""
        started = await self._commit(held, Park())
        return held.execution.status is ExecutionStatus.WAITING, started

    async def _close(self, held: Held, tasks: dict[str, asyncio.Task[NodeResult]]) -> None:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        tasks.clear()
        timed_out = not held.execution.cancel_requested and self._overdue(held)
        await self._commit(held, Close(timed_out=timed_out))

    def _overdue(self, held: Held) -> bool:
        return is_past(held.execution.deadline_at, self._clock.now())

    def _spawn(
        self, held: Held, tasks: dict[str, asyncio.Task[NodeResult]], started: list[NodeCall]
    ) -> None:
        for call in started:
            tasks[call.node_id] = asyncio.create_task(self._run_body(held, call))

    async def _run_body(self, held: Held, call: NodeCall) -> NodeResult:
        if not self._tracer.enabled:
            return await self._run_untraced(held, call)
        parent = established(held.execution.trace_context)
        with self._tracer.start_span(
            NODE_ATTEMPT_SPAN, parent=parent, attributes=call_attributes(call)
        ) as span:
            try:
                result = await self._run_untraced(held, replace(call, trace_headers=span.carrier()))
            except asyncio.CancelledError:
                span.set_attributes({"treadle.node.status": "cancelled"})
                raise
            ended = result_attributes(result)
            span.set_attributes(ended)
            if "treadle.error.kind" in ended:
                span.record_error(ended["treadle.error.kind"])
            return result

    async def _run_untraced(self, held: Held, call: NodeCall) -> NodeResult:
        node = held.definition.node(call.node_id)
        executor = self._executors.get(node.kind)
        try:
            if node.timeout is None:
                return await executor.run(call)
            return await asyncio.wait_for(executor.run(call), node.timeout.total_seconds())
        except TimeoutError:
            return Failed(NodeError("timeout", f"the attempt passed its {node.timeout} timeout"))
        except Exception as error:  # a bug in an executor must not kill the worker
            return Failed(NodeError("internal_error", f"{type(error).__name__}: {error}"))

    async def _next_results(
        self,
        held: Held,
        tasks: dict[str, asyncio.Task[NodeResult]],
        cancelled: asyncio.Event,
    ) -> dict[str, NodeResult]:
        """Wait for a body to finish, a wake time to pass, or a cancel."""
        timeout = wake_in(held, self._clock.now())
        waiter = asyncio.create_task(cancelled.wait())
        try:
            await asyncio.wait(
                [*tasks.values(), waiter], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        done = {node_id: task for node_id, task in tasks.items() if task.done()}
        for node_id in done:
            del tasks[node_id]
        return {node_id: task.result() for node_id, task in done.items()}

    async def _commit(self, held: Held, request: Request) -> list[NodeCall]:
        """Have `request` decided on the up-to-date held copy and committed with other
        runners' steps. The committer locks the row first, so the save cannot go stale;
        every other writer locks the row too."""
        if not self._tracer.enabled:
            return await self._committer.commit(held, request)
        with self._step_span(held) as span:
            started = await self._committer.commit(held, request)
            span.set_attributes(_step_attributes(held, request, len(started)))
        self._trace_inline_attempts(held)
        return started

    def _trace_opening(self, held: Held, opening_at: datetime) -> None:
        """Record the opening step and the attempts it decided, in the trace the committer
        established as it opened the execution."""
        span = self._step_span(held, start_time=opening_at)
        span.set_attributes(_step_attributes(held, Advance(opening=True), 0))
        span.end()
        self._trace_inline_attempts(held)

    def _step_span(self, held: Held, start_time: datetime | None = None) -> Span:
        """A step's span, in the execution's trace."""
        return self._tracer.start_span(
            STEP_SPAN,
            parent=established(held.execution.trace_context),
            attributes={"treadle.execution.id": held.execution.id},
            start_time=start_time,
        )

    def _trace_inline_attempts(self, held: Held) -> None:
        """Record a span for each attempt the last step decided inside itself (network
        attempts have live spans of their own), timed from its committed run."""
        parent = established(held.execution.trace_context)
        for run in ended_attempts(list(held.last_changed.values())):
            kind = held.definition.node(run.node_id).kind
            if inline_decider(self._executors.get(kind)) is None:
                continue
            span = self._tracer.start_span(
                NODE_ATTEMPT_SPAN,
                parent=parent,
                attributes=run_attributes(held.execution.id, kind, run),
                start_time=run.started_at,
            )
            if run.error is not None:
                span.record_error(str(run.error.get("kind", "error")))
            span.end(run.finished_at)

    @staticmethod
    def _ended(held: Held, ending: Ending) -> Advanced:
        return Advanced(held.execution.id, ending, held.execution.status.value)


def _step_attributes(held: Held, request: Request, started: int) -> dict[str, str | int]:
    return {
        "treadle.step.request": type(request).__name__.lower(),
        "treadle.execution.status": held.execution.status.value,
        "treadle.step.started_attempts": started,
    }
