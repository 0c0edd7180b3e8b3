"""Shared fixtures and builders for the engine's application tests.

The engine is built through the same composition root as production (`memory_engine`),
with in-memory adapters, a fake clock, a fixed jitter source and a scripted executor
for `http_request` nodes, so each test decides every node outcome per (node, attempt).
Every test that uses `harness` also gets its event logs checked for gaps at teardown.

Hypothesis profiles for the engine property suite are registered here too; they are
applied only by the tests that ask for them (see `engine_settings`), never globally.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, settings

from adapters.clock import FakeClock, SystemClock
from adapters.memory.queue import InMemoryWorkQueue
from adapters.memory.store import InMemoryStore
from adapters.secrets.crypto import SecretCipher
from application.nodes.builtin import builtin_executors
from application.ports.executors import NodeCall, NodeResult, Succeeded
from application.records import StoredEvent
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.secrets import CreateSecretHandler, PutSecret
from application.use_cases.start_run import StartRun
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.definition import NodeKind
from domain.execution import Execution
from domain.node_run import NodeRun
from entrypoints.containers import Engine, MemoryAdapters, memory_engine

WORKSPACE = "ws1"
SCRIPTED_KIND = NodeKind.HTTP_REQUEST
SCRIPTED_URL = "https://example.com/api"
FIXED_JITTER = 0.0  # the rng value the runner sees: no jitter, so backoffs are exact

# ---- Hypothesis budgets for the engine property suite ------------------------------------

_PROFILE_BASE: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile("dev", max_examples=100, **_PROFILE_BASE)
settings.register_profile("ci", max_examples=1000, **_PROFILE_BASE)
settings.register_profile("thorough", max_examples=10000, **_PROFILE_BASE)
ENGINE_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def engine_settings(share: float = 1.0) -> settings:
    """The selected profile's settings, with `share` of its example budget (at least 5)."""
    base = settings.get_profile(ENGINE_PROFILE)
    return settings(base, max_examples=max(5, int(base.max_examples * share)))


# ---- Scripted node bodies -----------------------------------------------------------------

Outcome = NodeResult | Callable[[NodeCall], Awaitable[NodeResult]]


def default_output(call: NodeCall) -> dict[str, Any]:
    return {"node": call.node_id, "attempt": call.attempt}


class ScriptedExecutor:
    """A non-inline executor (like a network call) answering per (node_id, attempt).

    An outcome is a result, or an async function of the call (to block, to act while
    the body runs). Unscripted attempts succeed with `default_output`. Every call is
    recorded in `calls`, in the order the bodies began.
    """

    def __init__(self, script: Mapping[tuple[str, int], Outcome] | None = None) -> None:
        self.script: dict[tuple[str, int], Outcome] = dict(script or {})
        self.calls: list[NodeCall] = []

    def on(self, node_id: str, attempt: int, outcome: Outcome) -> None:
        self.script[(node_id, attempt)] = outcome

    async def run(self, call: NodeCall) -> NodeResult:
        self.calls.append(call)
        await asyncio.sleep(0)  # a real body yields to the loop before it answers
        outcome = self.script.get((call.node_id, call.attempt))
        if outcome is None:
            return Succeeded(output=default_output(call))
        if callable(outcome):
            return await outcome(call)
        return outcome

    def attempts(self, node_id: str) -> list[int]:
        return [call.attempt for call in self.calls if call.node_id == node_id]


class Gate:
    """A body that announces it began and then blocks until the test opens the gate."""

    def __init__(self, result: NodeResult | None = None) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        self.cancelled = False
        self._result = result or Succeeded(output={"gate": "passed"})

    async def __call__(self, call: NodeCall) -> NodeResult:
        self.entered.set()
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self._result


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` on the event loop until it holds, or fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.001)


# ---- Workflow document builders -----------------------------------------------------------


def node(node_id: str, kind: str = "noop", **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, **fields}


def scripted(node_id: str, **fields: Any) -> dict[str, Any]:
    """A node run by the test's ScriptedExecutor."""
    return node(node_id, SCRIPTED_KIND.value, config={"url": SCRIPTED_URL}, **fields)


def edge(source: str, target: str, when: str | None = None) -> dict[str, Any]:
    found = {"from": source, "to": target}
    return found if when is None else {**found, "when": when}


def chain(*node_ids: str) -> list[dict[str, Any]]:
    return [edge(a, b) for a, b in pairwise(node_ids)]


def document(
    nodes: Sequence[dict[str, Any]],
    edges: Sequence[dict[str, Any]] = (),
    **settings_fields: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"nodes": list(nodes), "edges": list(edges)}
    if settings_fields:
        doc["settings"] = settings_fields
    return doc


# ---- The harness --------------------------------------------------------------------------


def assert_gapless_events(store: InMemoryStore, execution_id: str) -> list[StoredEvent]:
    """The execution's events are numbered 1..n with no gap or repeat, n = its seq."""
    log = store.event_log(execution_id)
    assert [event.seq for event in log] == list(range(1, len(log) + 1)), execution_id
    assert store.executions[execution_id].seq == len(log)
    return log


@dataclass
class Harness:
    """An engine on in-memory adapters and a fake clock, with helpers to drive it."""

    clock: FakeClock
    adapters: MemoryAdapters
    engine: Engine
    executor: ScriptedExecutor
    cipher: SecretCipher

    @property
    def store(self) -> InMemoryStore:
        store: InMemoryStore = self.adapters.store()
        return store

    @property
    def queue(self) -> InMemoryWorkQueue:
        queue: InMemoryWorkQueue = self.adapters.queue()
        return queue

    def worker(
        self, worker_id: str = "w1", *, schedules: bool = False, **fields: Any
    ) -> WorkerLoop:
        handler = self.engine.fire_schedules() if schedules else None
        # The engine's time is the fake clock's; a serving loop's heartbeats and claim
        # pacing wait in real time (on the fake one they would spin, each beat a jump).
        return WorkerLoop(
            WorkerSettings(worker_id, **fields),
            self.queue,
            self.engine.runner(),
            SystemClock(),
            schedules=handler,
        )

    async def create(self, doc: dict[str, Any], name: str = "demo") -> str:
        workflow = await self.engine.create_workflow()(CreateWorkflow(WORKSPACE, name, doc))
        return str(workflow.id)

    async def start(self, workflow_id: str, input: Any = None, **fields: Any) -> str:
        started = await self.engine.start_run()(StartRun(WORKSPACE, workflow_id, input, **fields))
        return str(started.execution.id)

    async def put_secret(self, name: str, value: str) -> None:
        """Store a workspace secret, encrypted, the way the API does."""
        create = CreateSecretHandler(self.adapters.uow_factory(), self.clock, self.cipher)
        await create(PutSecret(WORKSPACE, name, value))

    async def run(self, doc: dict[str, Any], input: Any = None) -> str:
        """Create the workflow, start one execution and drain everything due now."""
        execution_id = await self.start(await self.create(doc), input)
        await self.drain()
        return execution_id

    async def drain(self, worker_id: str = "w1") -> int:
        return await self.worker(worker_id).run_until_idle()

    async def settle(self, max_steps: int = 100) -> None:
        """Drain, then jump the clock to the next wake time, until nothing is left to wake."""
        for _ in range(max_steps):
            await self.drain()
            wakes = [
                e.wake_at
                for e in self.store.executions.values()
                if e.wake_at is not None and not e.status.is_terminal
            ]
            if not wakes:
                return
            self.clock.advance(to=min(wakes))
        raise AssertionError("the executions did not settle")

    def execution(self, execution_id: str) -> Execution:
        return self.store.executions[execution_id]

    def status(self, execution_id: str) -> str:
        return self.execution(execution_id).status.value

    def node(self, execution_id: str, node_id: str) -> NodeRun:
        return self.store.node_runs[execution_id][node_id]

    def node_statuses(self, execution_id: str) -> dict[str, str]:
        return {n: run.status.value for n, run in self.store.node_runs[execution_id].items()}

    def events(self, execution_id: str) -> list[StoredEvent]:
        return assert_gapless_events(self.store, execution_id)

    def types(self, execution_id: str, node_id: str | None = None) -> list[str]:
        return [
            event.type
            for event in self.events(execution_id)
            if node_id is None or event.node_id == node_id
        ]

    def first(self, execution_id: str, event_type: str, node_id: str | None = None) -> StoredEvent:
        return next(
            event
            for event in self.events(execution_id)
            if event.type == event_type and (node_id is None or event.node_id == node_id)
        )


def build_harness(executor: ScriptedExecutor | None = None) -> Harness:
    clock = FakeClock()
    adapters, engine = memory_engine(clock)
    scripted_executor = executor or ScriptedExecutor()
    registry = builtin_executors().with_executors({SCRIPTED_KIND: scripted_executor})
    engine.executors.override(providers.Object(registry))
    engine.rng.override(providers.Object(lambda: FIXED_JITTER))
    cipher = SecretCipher("a-test-secret-key")
    engine.decryptor.override(providers.Object(cipher))
    return Harness(clock, adapters, engine, scripted_executor, cipher)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    built = build_harness()
    yield built
    for execution_id in built.store.executions:
        assert_gapless_events(built.store, execution_id)
