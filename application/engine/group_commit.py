"""Group commit: the steps of several leased executions, in one transaction.

The committer is the engine's imperative shell. Each runner hands it a request (data: the
results that arrived, "park", "close") and awaits the outcome; the committer locks the
rows, fetches the facts every member's step needs (one query per kind), calls the pure
decision per member, carries out the effects the decisions asked for, writes and commits.
While a transaction is on its way, the requests that arrive meanwhile queue up, and the
next transaction takes them all: under load one commit (one fsync, a few statements)
serves many executions, and an idle worker still commits a lone step at once.

The transaction first locks the rows of every execution in it whose lease still holds (in
id order). A locked row cannot move under the step, so each held copy is brought up to
date from it and no member's compare-and-set can go stale: a cancel or a signal arriving
meanwhile waits for the commit. If the transaction fails before its COMMIT is sent, nothing
landed, and each member is tried again on its own, so one member's failure (a deadlock
with another worker, a bug in a step) is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from application.cancellation import cancel_child, cancel_items
from application.creation import Transition, add_executions, record_many, wake_parent
from application.definitions import DefinitionCache
from application.engine.admission import Admit, admit_batch
from application.engine.changes import Changes, Held
from application.engine.decision import (
    DEFAULT_MAX_DEPTH,
    Advance,
    GiveUpOn,
    Request,
    decide,
)
from application.engine.effects import (
    CancelChild,
    CancelItems,
    ClearStepFailures,
    ConsumeSignal,
    Effect,
    InsertChild,
    ReopenItem,
    WakeParent,
)
from application.engine.fact_fetching import Asked, BatchFacts, FactFetcher
from application.engine.facts import MissingFacts
from application.engine.needs import needs_of
from application.engine.poison_pill import given_up_error, is_poison_pill
from application.errors import LeaseLost
from application.flow_control import needs_admission
from application.ids import new_id
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.executors import ExecutorRegistry, NodeCall
from application.ports.tracing import NO_TRACING, Tracer
from application.ports.unit_of_work import (
    NewExecution,
    SignalTake,
    StepFailure,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.records import Lease
from application.reopening import reopen_item
from application.tracing import established, open_trace
from domain.definition import WorkflowDefinition
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.policies import is_past

Outcome = tuple[Held, list[NodeCall] | None] | None
"""The held copy and the calls the step started (None: no step was taken), or None when
there was nothing to hold."""

# What an execution given up by the poison-pill rule is held with: its end needs no graph.
_NO_DEFINITION = WorkflowDefinition(nodes=(), edges=())
MAX_FACT_ROUNDS = 3
"""How many times a step may ask for facts a template named only at run time."""


@dataclass(frozen=True)
class Opening:
    """How to open a newly leased execution: `hold_only` takes no step (the runner is
    closing it); an execution whose steps failed `poison_pill_after` times is given up."""

    hold_only: bool
    poison_pill_after: int


MAX_BATCH = 64


@dataclass
class _Member:
    lease: Lease
    held: Held | None
    """None until an opening member is loaded from its locked row."""
    request: Request | None = None
    opening: Opening | None = None
    future: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    trace_context: dict[str, str] | None = None
    """The trace an opening member established, kept for when its batch is tried again."""


@dataclass
class _Computed:
    member: _Member
    held: Held
    changes: Changes
    request: Request


class GroupCommitter:
    """Commits the steps of concurrently running executions together."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        definitions: DefinitionCache,
        executors: ExecutorRegistry,
        rng: Callable[[], float],
        decryptor: Encryptor | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        """`tracer` establishes the trace of each execution it opens (see
        `application.tracing`)."""
        self._uow = uow_factory
        self._tracer = tracer
        self._max_depth = max_depth
        self._clock = clock
        self._definitions = definitions
        self._executors = executors
        self._rng = rng
        self._facts = FactFetcher(definitions, decryptor)
        self._queue: list[_Member] = []
        self._drainer: asyncio.Task[None] | None = None

    async def open(self, lease: Lease, opening: Opening) -> Outcome:
        """Load a newly leased execution from its locked row and commit its first step
        (taking it over), unless `opening` says to hold it only."""
        return await self._submit(_Member(lease, None, opening=opening))

    async def commit(self, held: Held, request: Request) -> list[NodeCall]:
        """Decide `request` on the up-to-date held copy and commit it; update `held`.

        Raises LeaseLost when the lease no longer holds.
        """
        outcome = await self._submit(_Member(held.lease, held, request=request))
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
                answers, computed, effects = await self._compute(uow, batch)
                now = self._clock.now()
                await self._apply_first(uow, effects, now)
                saved = await record_many(uow, [self._transition(c) for c in computed], now)
                await self._apply_after(uow, effects, now)
                if only_starts(computed, effects):
                    uow.commit_without_waiting_for_disk()
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
    ) -> tuple[dict[int, Outcome | BaseException], list[_Computed], list[Effect]]:
        """Lock the rows, bring each held copy up to date, fetch the facts of every
        member's step at once and decide each.

        Returns the answers of the members with nothing to write, the decided steps, and
        the effects of all of them (to carry out even when a step wrote nothing).
        """
        opening = [m.lease.execution_id for m in batch if m.held is None]
        rows, runs = await uow.executions.lock_leased_with_runs(
            [member.lease for member in batch], opening
        )
        failures = await uow.executions.step_failures_of(opening) if opening else {}
        answers: dict[int, Outcome | BaseException] = {}
        preparing: list[tuple[_Member, Held, Request | Admit]] = []
        for member in batch:
            row = rows.get(member.lease.execution_id)
            prepared = await self._prepare(uow, member, row, runs, failures)
            if not isinstance(prepared, tuple):  # nothing to run, or the lease is gone
                answers[id(member)] = prepared
            elif prepared[1] is None:
                answers[id(member)] = (prepared[0], None)
            else:
                preparing.append((member, prepared[0], prepared[1]))
        deciding = await self._admit(uow, preparing)
        asked = [Asked(held.execution, needs_of(held, request)) for _, held, request in deciding]
        facts = await self._facts.fetch(uow, asked)
        computed: list[_Computed] = []
        effects: list[Effect] = []
        for member, held, request in deciding:
            changes = await self._decide(uow, held, request, facts)
            effects += changes.effects
            if changes.empty:
                answers[id(member)] = (held, [])
            else:
                computed.append(_Computed(member, held, changes, request))
        return answers, computed, effects

    async def _decide(
        self, uow: UnitOfWork, held: Held, request: Request, facts: BatchFacts
    ) -> Changes:
        """The member's decision; a fact a template named only at run time is fetched and
        the step decided again (the decision is pure: deciding again is safe)."""
        for _ in range(MAX_FACT_ROUNDS):
            now = self._clock.now()
            known = facts.facts_for(held.execution, now, self._rng, new_id)
            try:
                return decide(held, request, known, self._executors, max_depth=self._max_depth)
            except MissingFacts as missing:
                await self._facts.fetch(uow, [Asked(held.execution, missing.needs)], facts)
        known = facts.facts_for(held.execution, self._clock.now(), self._rng, new_id)
        return decide(held, request, known, self._executors, max_depth=self._max_depth)

    async def _prepare(
        self,
        uow: UnitOfWork,
        member: _Member,
        row: Execution | None,
        runs: dict[str, dict[str, NodeRun]],
        failures: dict[str, StepFailure],
    ) -> tuple[Held, Request | Admit | None] | LeaseLost | None:
        """The held copy and the request to decide; None for an opening member with nothing
        to run, LeaseLost for a member whose lease is gone."""
        if member.held is None:
            assert member.opening is not None
            if row is None or row.status.is_terminal:
                return None
            return await self._open_member(uow, member, row, runs.get(row.id, {}), failures)
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
        return held, member.request

    async def _open_member(
        self,
        uow: UnitOfWork,
        member: _Member,
        row: Execution,
        runs: dict[str, NodeRun],
        failures: dict[str, StepFailure],
    ) -> tuple[Held, Request | Admit | None]:
        assert member.opening is not None
        failure = failures.get(row.id)
        if is_poison_pill(failure, member.opening.poison_pill_after):
            # The definition is not even loaded: loading it may be what keeps failing.
            assert failure is not None
            held = Held(member.lease, row, runs, _NO_DEFINITION)
            return held, GiveUpOn(given_up_error(failure))
        if self._tracer.enabled:
            row = await self._in_own_trace(member, row)
        definition = await self._definitions.load(uow, row.workflow_id, row.version)
        held = Held(member.lease, row, runs, definition, step_failure=failure)
        if member.opening.hold_only or row.cancel_requested:
            return held, None
        if is_past(row.deadline_at, self._clock.now()):
            return held, None  # the runner closes it as timed out
        if needs_admission(definition, row):
            return held, Admit()
        return held, Advance(opening=True)

    async def _in_own_trace(self, member: _Member, row: Execution) -> Execution:
        """The opening row with its trace established (its execution span recorded), so
        its opening step stores the trace, even a step that parks it at once (flow
        control), and the children that step starts join it. The span is recorded once
        per opening, however often its batch is tried; tracing that fails leaves the row
        untraced, never the step undone."""
        if established(row.trace_context) is not None:
            return row
        if member.trace_context is None:
            opened = row
            with contextlib.suppress(Exception):  # a trace is not worth failing a step for
                opened = open_trace(self._tracer, row, await self._original_trace(row.rerun_of))
            member.trace_context = opened.trace_context or {}
        return replace(row, trace_context=member.trace_context) if member.trace_context else row

    async def _original_trace(self, rerun_of: str | None) -> dict[str, str] | None:
        """The trace of the execution a re-run repeats, to link the re-run's to; read in a
        unit of work of its own, so that a failed read cannot spoil the batch's."""
        if rerun_of is None:
            return None
        async with self._uow() as uow:
            original = await uow.executions.get(rerun_of)
        found = established(original.trace_context) if original is not None else None
        return dict(found) if found else None

    async def _admit(
        self, uow: UnitOfWork, deciding: list[tuple[_Member, Held, Request | Admit]]
    ) -> list[tuple[_Member, Held, Request]]:
        """Replace each `Admit` by the request the member's limits allow (see admission)."""
        opening = [held for _, held, request in deciding if isinstance(request, Admit)]
        holding = [held for _, held, _ in deciding if held.execution.holds_slot]
        requests: list[Request] = []
        if opening or holding:
            requests = await admit_batch(uow, opening, holding, self._clock.now())
        admitted = iter(requests)
        return [
            (member, held, next(admitted) if isinstance(request, Admit) else request)
            for member, held, request in deciding
        ]

    @staticmethod
    async def _apply_first(uow: UnitOfWork, effects: Sequence[Effect], now: datetime) -> None:
        """Effects on rows no member writes: signals taken, children started, counts reset."""
        takes = [
            SignalTake(e.signal_id, e.execution_id, e.node_id)
            for e in effects
            if isinstance(e, ConsumeSignal)
        ]
        await uow.signals.consume_many(takes, now)
        children = [
            NewExecution(e.execution, e.node_ids, e.first_events)
            for e in effects
            if isinstance(e, InsertChild)
        ]
        await add_executions(uow, children)
        for effect in effects:
            if isinstance(effect, ClearStepFailures):
                await uow.executions.clear_step_failures(effect.execution_id)

    async def _apply_after(self, uow: UnitOfWork, effects: Sequence[Effect], now: datetime) -> None:
        """Effects on other executions, after the batch's own rows are written: one of them
        may be held in this batch, and its own write must land first."""
        for effect in effects:
            if isinstance(effect, CancelChild):
                await cancel_child(uow, effect.child_id, now)
            elif isinstance(effect, CancelItems):
                await cancel_items(uow, effect.execution_id, effect.node_id, now)
            elif isinstance(effect, ReopenItem):
                await reopen_item(uow, effect.child_id, self._definitions, now, effect.parent_trace)
            elif isinstance(effect, WakeParent):
                await wake_parent(uow, effect.child, now)

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


def only_starts(computed: Sequence[_Computed], effects: Sequence[Effect]) -> bool:
    """Whether a batch only records network attempts starting, which is safe to lose.

    A lost start is redone: the claimer that finds the attempt not started runs it again
    under the same idempotency key (derived from execution and node, the same on every
    attempt), which the receiving service deduplicates. Results, endings and effects on
    other rows are never in such a batch, and their durable commit flushes it too.
    """
    if effects or not computed:
        return False
    return all(_starts_only(done) for done in computed)


def _starts_only(done: _Computed) -> bool:
    request, changes = done.request, done.changes
    if not isinstance(request, Advance) or request.results or not changes.started:
        return False
    if changes.execution.status.is_terminal:
        return False
    return not any(run.status.is_terminal for run in changes.changed.values())


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
