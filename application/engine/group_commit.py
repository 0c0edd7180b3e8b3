"""Group commit: the steps of several leased executions, in one transaction.

Each runner hands its step to the committer and awaits the outcome. While a transaction is
on its way, the steps that arrive meanwhile queue up, and the next transaction takes them
all: under load one commit (one fsync, a few statements) serves many executions, and an
idle worker still commits a lone step at once.

The transaction first locks the rows of every execution in it whose lease still holds (in
id order). A locked row cannot move under the step, so each held copy is brought up to
date from it and no member's compare-and-set can go stale: a cancel or a signal arriving
meanwhile waits for the commit. If the transaction fails before its COMMIT is sent, nothing
landed, and each member is tried again on its own, so one member's failure (a deadlock
with another worker, a bug in a step) is its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from application.creation import Transition, record_many
from application.engine.changes import Changes, Held
from application.errors import LeaseLost
from application.ports.clock import Clock
from application.ports.executors import NodeCall
from application.ports.unit_of_work import StepFailure, UnitOfWork, UnitOfWorkFactory
from application.records import Lease
from domain.execution import Execution
from domain.node_run import NodeRun

Step = Callable[[UnitOfWork, Changes, datetime], Awaitable[None]]
Opened = tuple[Held, Step | None]
Opener = Callable[
    [UnitOfWork, Execution, dict[str, NodeRun], StepFailure | None], Awaitable[Opened | None]
]
Outcome = tuple[Held, list[NodeCall] | None] | None
"""The held copy and the calls the step started (None: no step was taken), or None when
there was nothing to hold."""

MAX_BATCH = 64


@dataclass
class _Member:
    lease: Lease
    held: Held | None
    """None until an opening member is loaded from its locked row."""
    step: Step | None = None
    opener: Opener | None = None
    future: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _Computed:
    member: _Member
    held: Held
    changes: Changes


class GroupCommitter:
    """Commits the steps of concurrently running executions together."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._queue: list[_Member] = []
        self._drainer: asyncio.Task[None] | None = None

    async def open(self, lease: Lease, opener: Opener) -> Outcome:
        """Load a newly leased execution from its locked row (`opener` builds the held copy
        and picks its first step, if any) and commit that step."""
        return await self._submit(_Member(lease, None, opener=opener))

    async def commit(self, held: Held, step: Step) -> list[NodeCall]:
        """Compute `step` on the up-to-date held copy and commit it; update `held`.

        Raises LeaseLost when the lease no longer holds.
        """
        outcome = await self._submit(_Member(held.lease, held, step=step))
        started = outcome[1] if outcome is not None else None
        return started or []

    async def _submit(self, member: _Member) -> Outcome:
        self._queue.append(member)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await member.future

    async def _drain(self) -> None:
        while self._queue:
            batch = [member for member in self._queue[:MAX_BATCH] if not member.future.done()]
            del self._queue[:MAX_BATCH]
            if batch:
                await self._flush(batch)

    async def _flush(self, batch: list[_Member]) -> None:
        committing = False
        try:
            async with self._uow() as uow:
                answers, computed = await self._compute(uow, batch)
                now = self._clock.now()
                saved = await record_many(uow, [self._transition(c) for c in computed], now)
                committing = True
                await uow.commit()
        except Exception as error:
            if len(batch) > 1 and not committing:
                # Nothing landed: let each member succeed or fail on its own.
                await self._flush_one_by_one(batch)
                return
            for member in batch:
                _settle(member, error)
            return
        except BaseException as error:
            # The process is going away (or a test killed this worker): nobody waits.
            for member in [*batch, *self._queue]:
                _settle(member, error)
            self._queue.clear()
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for done, execution in zip(computed, saved, strict=True):
            done.held.absorb(execution, done.changes)
            answers[id(done.member)] = (done.held, done.changes.started)
        for member in batch:
            _settle(member, answers[id(member)])

    async def _flush_one_by_one(self, batch: list[_Member]) -> None:
        try:
            for member in batch:
                await self._flush([member])
        except asyncio.CancelledError as error:
            for member in batch:  # the committer is being shut down: nobody waits
                _settle(member, error)
            raise

    async def _compute(
        self, uow: UnitOfWork, batch: Sequence[_Member]
    ) -> tuple[dict[int, Outcome | BaseException], list[_Computed]]:
        """Lock the rows, bring each held copy up to date and compute its step.

        Returns the answers of the members with nothing to write, and the computed steps.
        """
        opening = [m.lease.execution_id for m in batch if m.held is None]
        rows, runs = await uow.executions.lock_leased_with_runs(
            [member.lease for member in batch], opening
        )
        failures = await uow.executions.step_failures_of(opening) if opening else {}
        answers: dict[int, Outcome | BaseException] = {}
        computed: list[_Computed] = []
        for member in batch:
            row = rows.get(member.lease.execution_id)
            prepared = await self._prepare(uow, member, row, runs, failures)
            if not isinstance(prepared, tuple):  # nothing to run, or the lease is gone
                answers[id(member)] = prepared
                continue
            held, step = prepared
            if step is None:
                answers[id(member)] = (held, None)
                continue
            now = self._clock.now()
            changes = Changes.on(held, now)
            await step(uow, changes, now)
            if changes.empty:
                answers[id(member)] = (held, [])
            else:
                computed.append(_Computed(member, held, changes))
        return answers, computed

    @staticmethod
    async def _prepare(
        uow: UnitOfWork,
        member: _Member,
        row: Execution | None,
        runs: dict[str, dict[str, NodeRun]],
        failures: dict[str, StepFailure],
    ) -> Opened | LeaseLost | None:
        """The held copy and the step to take; None for an opening member with nothing to
        run, LeaseLost for a member whose lease is gone."""
        if member.held is None:
            assert member.opener is not None
            if row is None:
                return None
            return await member.opener(uow, row, runs.get(row.id, {}), failures.get(row.id))
        held = member.held
        if row is None:
            return LeaseLost()
        # A row locked under this lease is not terminal: a terminal save ends the lease.
        # Other writers touch only these fields; the node runs are the lease holder's own.
        held.execution = replace(
            held.execution,
            seq=row.seq,
            cancel_requested=row.cancel_requested,
            wake_at=row.wake_at,
        )
        return held, member.step

    @staticmethod
    def _transition(done: _Computed) -> Transition:
        changes = done.changes
        return Transition(
            done.held.execution,
            changes.execution,
            list(changes.changed.values()),
            changes.events,
            done.held.lease,
        )


def _settle(member: _Member, answer: Outcome | BaseException) -> None:
    """Hand a member its outcome, unless its runner stopped waiting (it was cancelled)."""
    if member.future.done():
        return
    if isinstance(answer, asyncio.CancelledError):
        member.future.cancel()
    elif isinstance(answer, BaseException):
        member.future.set_exception(answer)
    else:
        member.future.set_result(answer)
