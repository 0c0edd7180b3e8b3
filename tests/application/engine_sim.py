"""A simulated cluster for the engine property suite: workers that crash or stall
between two port calls, a scripted network executor, and a driver that moves the fake
clock from one wake time to the next until every execution has ended.

Each worker gets its own runner over a wrapped unit-of-work factory and queue; the
wrappers count the worker's port calls and make the chosen one raise `WorkerCrashed`
(a BaseException, so no `except Exception` in the engine can swallow it) or block
until the test lets it go (a stalled worker whose lease is taken over meanwhile).

The cluster runs on the in-memory adapter by default; any adapter that provides
`SimPorts` over the cluster's fake clock (the Postgres one, in the contract suite) can
be plugged in instead. The cluster reads state only through units of work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

from dependency_injector import providers

from adapters.clock import FakeClock
from adapters.memory.store import InMemoryStore
from application.engine.runner import Advanced, ExecutionRunner
from application.nodes.builtin import ExecutorMap, builtin_executors
from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from application.records import Lease
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.definition import NodeKind
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.policies import NodeError
from entrypoints.containers import Engine
from tests.application.conftest import FIXED_JITTER, WORKSPACE
from tests.application.engine_strategies import Crash, Scenario, signal_name
from tests.application.sim_ports import MemoryPorts, PortsFactory

T = TypeVar("T")
MAX_PHASES = 300
MAX_ROUNDS_PER_PHASE = 60
LEASE_FOR = timedelta(seconds=30)


class WorkerCrashed(BaseException):
    """The worker process died here."""


# ---- Node bodies --------------------------------------------------------------------------


class SimExecutor:
    """Answers each (run, node, attempt) from the scenario's script; counts invocations."""

    def __init__(self, outcomes: dict[tuple[int, str, int], str]) -> None:
        self._outcomes = outcomes
        self.invocations: Counter[tuple[int, str, int]] = Counter()
        self.during: dict[tuple[int, str, int], Callable[[NodeCall], Awaitable[None]]] = {}

    async def run(self, call: NodeCall) -> NodeResult:
        run = int(call.context["input"]["run"])
        key = (run, call.node_id, call.attempt)
        self.invocations[key] += 1
        await asyncio.sleep(0)
        action = self.during.get(key)
        if action is not None:
            await action(call)
        outcome = self._outcomes.get(key, "ok")
        if outcome == "ok":
            return Succeeded(output={"run": run, "node": call.node_id, "attempt": call.attempt})
        if outcome == "retryable":
            return Failed(NodeError("http_503", "unavailable", retryable=True))
        if outcome == "timeout":
            return Failed(NodeError("timeout", "the attempt passed its timeout", retryable=True))
        return Failed(NodeError("http_400", "rejected", retryable=False))


# ---- Crashing and stalling port wrappers ---------------------------------------------------


@dataclass
class PortCalls:
    """One worker's port-call counter, and what happens at its fatal call."""

    crash: Crash | None = None
    stall_at: int | None = None
    yields: tuple[int, ...] = (0,)
    count: int = 0
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    resume: asyncio.Event = field(default_factory=asyncio.Event)

    async def around(
        self, call: Callable[[], Awaitable[T]], *, may_crash_after: bool, may_stall: bool = False
    ) -> T:
        self.count += 1
        for _ in range(self.yields[self.count % len(self.yields)]):
            await asyncio.sleep(0)
        if may_stall and self._stalls_now():
            self.stalled.set()
            await self.resume.wait()
        fatal = self.crash is not None and self.crash.at == self.count
        if fatal and not (self.crash and self.crash.after and may_crash_after):
            raise WorkerCrashed()
        result = await call()
        if fatal:
            raise WorkerCrashed()
        return result

    def _stalls_now(self) -> bool:
        """Stall once, at the first transaction start from call `stall_at` on (a stall
        anywhere else would hold the store's lock and block every other worker)."""
        return (
            self.stall_at is not None and self.count >= self.stall_at and not self.stalled.is_set()
        )


class CrashingUnitOfWork:
    """A unit of work whose entry and commit count as port calls of one worker."""

    def __init__(self, inner: Any, calls: PortCalls) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> CrashingUnitOfWork:
        # Only before: a crash after entering would leave the transaction open forever.
        await self._calls.around(self._inner.__aenter__, may_crash_after=False, may_stall=True)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(kind, exc, tb)

    async def commit(self) -> None:
        await self._calls.around(self._inner.commit, may_crash_after=True)


class CrashingQueue:
    """The work queue, with `claim` counted as a port call."""

    def __init__(self, inner: Any, calls: PortCalls) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        async def claim() -> list[Lease]:
            leases: list[Lease] = await self._inner.claim(worker_id, limit, lease_for)
            return leases

        return await self._calls.around(claim, may_crash_after=True)


# ---- The adapter under the cluster ---------------------------------------------------------


# ---- The cluster --------------------------------------------------------------------------


@dataclass
class SimWorker:
    loop: WorkerLoop
    calls: PortCalls
    endings: list[Advanced]


class Cluster:
    """An engine, its workers and the scenario's executions; `drive()` runs them to the end."""

    def __init__(self, scenario: Scenario, ports: PortsFactory = MemoryPorts.on) -> None:
        self.scenario = scenario
        self.clock = FakeClock()
        self.ports = ports(self.clock)
        self.engine = Engine(
            clock=providers.Object(self.clock),
            uow_factory=providers.Object(self.ports.uow_factory),
            queue=providers.Object(self.ports.queue),
        )
        self.executor = SimExecutor(scenario.outcomes)
        self.registry: ExecutorMap = builtin_executors().with_executors(
            {NodeKind.HTTP_REQUEST: self.executor}
        )
        self.engine.executors.override(providers.Object(self.registry))
        self.engine.rng.override(providers.Object(lambda: FIXED_JITTER))
        self.queue: Any = self.ports.queue
        self.execution_ids: list[str] = []
        self.crashes = 0
        self._spawned = 0
        self._pending_signals: list[tuple[float, str, str]] = []
        plans = {crash.worker: crash for crash in scenario.crashes}
        self.workers = [self.new_worker(plans.get(i)) for i in range(scenario.workers)]

    def new_worker(self, crash: Crash | None = None, stall_at: int | None = None) -> SimWorker:
        self._spawned += 1
        calls = PortCalls(crash=crash, stall_at=stall_at, yields=self.scenario.yields)
        uow_factory = self.ports.uow_factory
        runner = ExecutionRunner(
            lambda: CrashingUnitOfWork(uow_factory(), calls),
            self.clock,
            self.registry,
            self.engine.definitions(),
            lambda: FIXED_JITTER,
        )
        endings: list[Advanced] = []
        loop = WorkerLoop(
            WorkerSettings(f"w{self._spawned}", concurrency=1, lease_for=LEASE_FOR),
            CrashingQueue(self.queue, calls),
            runner,
            self.clock,
            on_advanced=endings.append,
        )
        return SimWorker(loop, calls, endings)

    @property
    def store(self) -> InMemoryStore:
        """The in-memory store, for synchronous inspection (memory clusters only)."""
        if not isinstance(self.ports, MemoryPorts):
            raise TypeError("only a cluster on the in-memory adapter has a store")
        return self.ports.store

    async def executions(self) -> list[Execution]:
        async with self.ports.uow_factory() as uow:
            found = [await uow.executions.get(e) for e in self.execution_ids]
        return [execution for execution in found if execution is not None]

    async def start(self) -> None:
        created = CreateWorkflow(WORKSPACE, "scenario", self.scenario.document)
        workflow = await self.engine.create_workflow()(created)
        start = self.clock.now()
        for run_input in self.scenario.inputs:
            started = await self.engine.start_run()(StartRun(WORKSPACE, workflow.id, run_input))
            self.execution_ids.append(started.execution.id)
            for node_id, offset in self.scenario.signal_offsets.items():
                due = (start + timedelta(seconds=offset)).timestamp()
                self._pending_signals.append((due, started.execution.id, node_id))
        self._pending_signals.sort()

    async def drive(self, before_each_phase: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run every phase (one instant of the fake clock) until all executions ended."""
        for _ in range(MAX_PHASES):
            await self._deliver_due_signals()
            if before_each_phase is not None:
                await before_each_phase()
            await self.run_phase()
            executions = await self.executions()
            if all(execution.status.is_terminal for execution in executions):
                return
            following = self._next_wake(executions)
            assert following is not None, "executions are stuck with nothing to wake them"
            self.clock.advance(to=following)
        raise AssertionError("the executions did not end within the phase budget")

    async def run_phase(self) -> None:
        """Let every worker drain what is due now; replace crashed ones and expire leases."""
        for _ in range(MAX_ROUNDS_PER_PHASE):
            results = await asyncio.gather(
                *(worker.loop.run_until_idle() for worker in self.workers),
                return_exceptions=True,
            )
            crashed = [i for i, r in enumerate(results) if isinstance(r, WorkerCrashed)]
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, WorkerCrashed):
                    raise result
            for index in crashed:
                self.crashes += 1
                self.workers[index] = self.new_worker()
            if crashed:
                await self.ports.expire_leases()  # the dead worker's leases lapse
                continue
            if not any(results):
                return
        raise AssertionError("a phase did not become idle")

    def _next_wake(self, executions: list[Execution]) -> Any:
        wakes = [
            e.wake_at for e in executions if e.wake_at is not None and not e.status.is_terminal
        ]
        now = self.clock.now().timestamp()
        signals = [due for due, _, _ in self._pending_signals if due > now]
        if signals:
            wakes.append(self.clock.now() + timedelta(seconds=min(signals) - now))
        return min(wakes) if wakes else None

    async def _deliver_due_signals(self) -> None:
        now = self.clock.now().timestamp()
        while self._pending_signals and self._pending_signals[0][0] <= now:
            _, execution_id, node_id = self._pending_signals.pop(0)
            async with self.ports.uow_factory() as uow:
                execution = await uow.executions.get(execution_id)
            if execution is None or execution.status.is_terminal:
                continue
            command = DeliverSignal(WORKSPACE, execution_id, signal_name(node_id), node_id)
            await self.engine.deliver_signal()(command)


def final_state(cluster: Cluster) -> list[Any]:
    """What must not depend on crashes or interleavings: per execution, its outcome and
    every node's status, attempt, output and error (memory clusters only)."""
    store = cluster.store
    return [
        outcome_of(store.executions[execution_id], store.node_runs[execution_id])
        for execution_id in cluster.execution_ids
    ]


def outcome_of(execution: Execution, runs: dict[str, NodeRun]) -> Any:
    """An execution's status, output and error, and each node's status, attempt, output,
    error and label."""
    nodes = {n: (r.status.value, r.attempt, r.output, r.error, r.label) for n, r in runs.items()}
    return (execution.status.value, execution.output, execution.error, nodes)


async def simulate(scenario: Scenario, ports: PortsFactory = MemoryPorts.on) -> Cluster:
    cluster = Cluster(scenario, ports)
    await cluster.start()
    await cluster.drive()
    return cluster
