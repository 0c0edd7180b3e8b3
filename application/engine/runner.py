"""The runner: advances one leased execution until it finishes, parks or loses its lease.

Every step is committed by the group committer, together with other executions' steps:
the execution's row is locked and re-read first (a cancel request, a signal or a child
finishing may have moved it), then the step is computed and saved as a fenced
compare-and-set; when the lease is gone, the runner stops writing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from application.definitions import DefinitionCache
from application.engine.changes import Changes, Held
from application.engine.context import NodeCallBuilder
from application.engine.group_commit import GroupCommitter, Opened, Step
from application.engine.poison_pill import (
    DEFAULT_POISON_PILL_AFTER,
    describe_failure,
    given_up_error,
    is_poison_pill,
)
from application.engine.progress import Stepper, wake_in
from application.errors import LeaseLost
from application.ports.clock import Clock
from application.ports.executors import ExecutorRegistry, Failed, NodeCall, NodeResult
from application.ports.unit_of_work import StepFailure, UnitOfWork, UnitOfWorkFactory
from application.records import Lease
from domain.definition import WorkflowDefinition
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.policies import NodeError, is_past

# What an execution given up by the poison-pill rule is held with: its end needs no graph.
_NO_DEFINITION = WorkflowDefinition(nodes=(), edges=())


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
    """Runs the ready nodes of leased executions and commits every transition."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        executors: ExecutorRegistry,
        calls: NodeCallBuilder,
        definitions: DefinitionCache,
        rng: Callable[[], float],
        commit_uow_factory: UnitOfWorkFactory | None = None,
        poison_pill_after: int = DEFAULT_POISON_PILL_AFTER,
    ) -> None:
        """`commit_uow_factory`, when given, serves the group committer, which uses one unit
        of work at a time (an adapter can keep a connection for it). An execution whose
        step failed `poison_pill_after` times in a row the same way is ended `failed`."""
        self._uow = uow_factory
        self._poison_pill_after = poison_pill_after
        self._clock = clock
        self._executors = executors
        self._calls = calls
        self._definitions = definitions
        self._stepper = Stepper(executors, calls, definitions, rng)
        self._committer = GroupCommitter(commit_uow_factory or uow_factory, clock)

    async def advance(self, lease: Lease, cancelled: asyncio.Event | None = None) -> Advanced:
        cancelled = cancelled or asyncio.Event()
        tasks: dict[str, asyncio.Task[NodeResult]] = {}
        secrets: set[str] = set()
        try:
            opened = await self._open(lease, cancelled)
            if opened is None:
                return Advanced(lease.execution_id, Ending.GONE)
            held, started = opened
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

    async def _open(
        self, lease: Lease, cancelled: asyncio.Event
    ) -> tuple[Held, list[NodeCall] | None] | None:
        """Load the execution and, in the same transaction, commit its first step.

        Returns None when there is nothing to run, else the held copy and the calls the
        first step started (None when the first step is still to be taken: a cancel or an
        overdue deadline comes first).
        """

        async def opener(
            uow: UnitOfWork,
            execution: Execution,
            runs: dict[str, NodeRun],
            failure: StepFailure | None,
        ) -> Opened | None:
            if execution.status.is_terminal:
                return None
            if is_poison_pill(failure, self._poison_pill_after):
                # The definition is not even loaded: loading it may be what keeps failing.
                assert failure is not None
                held = Held(lease, execution, runs, _NO_DEFINITION)
                return held, self._give_up_step(held, failure)
            definition = await self._definitions.load(uow, execution.workflow_id, execution.version)
            held = Held(lease, execution, runs, definition, step_failure=failure)
            if self._closing(held, cancelled):
                return held, None
            return held, self._advance_step(held, {}, True)

        opened = await self._committer.open(lease, opener)
        if opened is not None:
            opened[0].step_failure = None  # the first step committed: the count is forgotten
        return opened

    def _give_up_step(self, held: Held, failure: StepFailure) -> Step:
        async def step(uow: UnitOfWork, changes: Changes, now: datetime) -> None:
            await uow.executions.clear_step_failures(held.execution.id)
            await self._stepper.give_up(uow, changes, now, given_up_error(failure))

        return step

    async def _count_failed_step(self, lease: Lease, error: Exception, secrets: set[str]) -> None:
        """Count the failure on the execution's row, for the poison-pill rule; when the
        database itself is away nothing is counted (the step is not to blame)."""
        kind, message = describe_failure(error, secrets)
        with contextlib.suppress(Exception):
            async with self._uow() as uow:
                await uow.executions.record_step_failure(lease, kind, message)
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
            if not step_taken:
                step = self._advance_step(held, results, opening=not opened)
                started = await self._commit(held, step)
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

    def _advance_step(
        self, held: Held, results: Mapping[str, NodeResult], opening: bool = False
    ) -> Step:
        """The next step; the first one also takes the execution over, in the same commit."""

        async def step(uow: UnitOfWork, changes: Changes, now: datetime) -> None:
            if held.step_failure is not None:
                await uow.executions.clear_step_failures(held.execution.id)
            if opening:
                await self._stepper.open(uow, held, changes, now)
            await self._stepper.advance(uow, held, changes, now, results)

        return step

    async def _park(self, held: Held) -> tuple[bool, list[NodeCall]]:
        """Park unless something became due meanwhile (then return what it started)."""
        parked = False

        async def step(uow: UnitOfWork, changes: Changes, now: datetime) -> None:
            nonlocal parked
            if changes.execution.cancel_requested:
                return
            await self._stepper.advance(uow, held, changes, now, {})
            if changes.empty and not changes.execution.status.is_terminal:
                self._stepper.park(changes)
                parked = True

        started = await self._commit(held, step)
        return parked, started

    async def _close(self, held: Held, tasks: dict[str, asyncio.Task[NodeResult]]) -> None:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        tasks.clear()
        timed_out = not held.execution.cancel_requested and self._overdue(held)

        async def step(uow: UnitOfWork, changes: Changes, now: datetime) -> None:
            await self._stepper.close(uow, changes, now, timed_out=timed_out)

        await self._commit(held, step)

    def _overdue(self, held: Held) -> bool:
        return is_past(held.execution.deadline_at, self._clock.now())

    def _spawn(
        self, held: Held, tasks: dict[str, asyncio.Task[NodeResult]], started: list[NodeCall]
    ) -> None:
        for call in started:
            tasks[call.node_id] = asyncio.create_task(self._run_body(held, call))

    async def _run_body(self, held: Held, call: NodeCall) -> NodeResult:
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
        timeout = wake_in(Changes.on(held, self._clock.now()), self._clock.now())
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

    async def _commit(self, held: Held, step: Step) -> list[NodeCall]:
        """Compute `step` on the up-to-date held copy and commit it with other runners'.

        The committer locks the row before computing, so the save cannot go stale; every
        other writer locks the row too."""
        return await self._committer.commit(held, step)

    @staticmethod
    def _ended(held: Held, ending: Ending) -> Advanced:
        return Advanced(held.execution.id, ending, held.execution.status.value)
