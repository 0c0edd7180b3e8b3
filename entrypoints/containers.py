"""The composition root: dependency-injector containers that wire adapters into use cases.

`Engine` holds the use cases and needs three things from outside: a clock, a unit of
work factory and a work queue (plus a secret store and the executor registry). The
adapter containers provide them for memory or Postgres; tests override providers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from dependency_injector import containers, providers

from adapters.clock import FakeClock, SystemClock
from adapters.memory.queue import InMemoryWorkQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.definitions import DefinitionCache
from application.engine.decision import DEFAULT_MAX_DEPTH
from application.engine.poison_pill import DEFAULT_POISON_PILL_AFTER
from application.engine.runner import ExecutionRunner
from application.node_kinds import NodeKindCatalogue
from application.nodes.builtin import builtin_executors
from application.ports.node_kinds import NoInstalledKinds, RegisteredKind
from application.ports.tracing import NO_TRACING
from application.run_inserts import InsertsThroughUnitOfWork
from application.use_cases.cancel_execution import CancelExecutionHandler
from application.use_cases.create_workflow import CreateWorkflowHandler
from application.use_cases.deliver_signal import DeliverSignalHandler
from application.use_cases.fire_schedules import FireDueSchedulesHandler
from application.use_cases.rerun_execution import RerunExecutionHandler
from application.use_cases.retry_execution import RetryExecutionHandler
from application.use_cases.start_run import StartRunHandler
from application.use_cases.start_runs import StartRunsHandler
from application.use_cases.update_workflow import UpdateWorkflowHandler
from application.workflow_tests import CaseEngine, PlainSecrets, ScriptedResponse


class Engine(containers.DeclarativeContainer):
    """Use cases and the runner, over whatever adapters are plugged in."""

    clock: providers.Dependency[Any] = providers.Dependency()
    uow_factory: providers.Dependency[Any] = providers.Dependency()
    commit_uow_factory: providers.Dependency[Any] = providers.Dependency(
        default=providers.Object(None)
    )
    """Units of work for the runner's group committer (one at a time); None: `uow_factory`."""
    queue: providers.Dependency[Any] = providers.Dependency()
    run_inserts: providers.Dependency[Any] = providers.Dependency(
        default=providers.Singleton(InsertsThroughUnitOfWork, uow_factory)
    )
    """Stores run requests; by default through a unit of work."""
    decryptor: providers.Dependency[Any] = providers.Dependency(default=providers.Object(None))
    """Opens the secrets that node templates read (the secret cipher); None: no secrets."""
    executors: providers.Dependency[Any] = providers.Dependency(
        default=providers.Singleton(builtin_executors)
    )
    installed_kinds: providers.Dependency[Any] = providers.Dependency(
        default=providers.Object(NoInstalledKinds())
    )
    """The node kinds this process has from installed packages (their save-time checks)."""
    tracer: providers.Dependency[Any] = providers.Dependency(default=providers.Object(NO_TRACING))
    """Records each execution's trace (OpenTelemetry when configured); no-op by default."""
    rng = providers.Object(random.random)
    poison_pill_after = providers.Object(DEFAULT_POISON_PILL_AFTER)
    max_depth = providers.Object(DEFAULT_MAX_DEPTH)
    """How deeply sub-workflows may nest (`TREADLE_MAX_DEPTH`)."""

    definitions = providers.Singleton(DefinitionCache)
    runner = providers.Singleton(
        ExecutionRunner,
        uow_factory=uow_factory,
        commit_uow_factory=commit_uow_factory,
        clock=clock,
        executors=executors,
        decryptor=decryptor,
        definitions=definitions,
        rng=rng,
        poison_pill_after=poison_pill_after,
        max_depth=max_depth,
        tracer=tracer,
    )
    create_workflow = providers.Singleton(
        CreateWorkflowHandler, uow_factory, clock, installed_kinds
    )
    update_workflow = providers.Singleton(
        UpdateWorkflowHandler, uow_factory, clock, installed_kinds
    )
    start_run = providers.Singleton(StartRunHandler, uow_factory, clock, definitions, run_inserts)
    start_runs = providers.Singleton(StartRunsHandler, uow_factory, clock, definitions, run_inserts)
    node_kinds = providers.Singleton(NodeKindCatalogue, uow_factory, installed_kinds)
    deliver_signal = providers.Singleton(DeliverSignalHandler, uow_factory, clock)
    cancel_execution = providers.Singleton(CancelExecutionHandler, uow_factory, clock)
    retry_execution = providers.Singleton(RetryExecutionHandler, uow_factory, clock, definitions)
    rerun_execution = providers.Singleton(RerunExecutionHandler, uow_factory, clock, definitions)
    fire_schedules = providers.Singleton(FireDueSchedulesHandler, uow_factory, clock, definitions)


class MemoryAdapters(containers.DeclarativeContainer):
    """Everything in this process: for tests, demos and the property suite."""

    clock = providers.Singleton(SystemClock)
    store = providers.Singleton(InMemoryStore, clock=clock)
    uow_factory = providers.Singleton(InMemoryUnitOfWorkFactory, store)
    queue = providers.Singleton(InMemoryWorkQueue, store)


def memory_engine(clock: object | None = None) -> tuple[MemoryAdapters, Engine]:
    """An engine wired to fresh in-memory adapters (optionally on a given clock)."""
    adapters = MemoryAdapters()
    if clock is not None:
        adapters.clock.override(providers.Object(clock))
    engine = Engine(clock=adapters.clock, uow_factory=adapters.uow_factory, queue=adapters.queue)
    return adapters, engine


def workflow_test_engine(responses: Mapping[str, Sequence[ScriptedResponse]]) -> CaseEngine:
    """An engine for one workflow test case: in memory, on a fake clock, with no jitter,
    its http_request and ai_prompt nodes answered from `responses` (by node id, or
    `<workflow>.<node id>` in a child workflow), secrets it can be given, and the node kinds
    of the installed packages (which run their own code)."""
    # Here, not above: httpx (and the CLI stack its own CLI brings) stays out of workers.
    from adapters.nodes.plugins import installed_kinds
    from adapters.nodes.scripted_network import ScriptedNetwork

    clock = FakeClock()
    adapters, engine = memory_engine(clock)
    network = ScriptedNetwork(responses)
    codec = PlainSecrets()
    catalog = installed_kinds()
    executors = builtin_executors().with_executors(network.executors())
    engine.executors.override(providers.Object(executors.with_executors(catalog.executors())))
    engine.installed_kinds.override(providers.Object(catalog))
    engine.decryptor.override(providers.Object(codec))
    engine.rng.override(providers.Object(lambda: 0.0))  # every backoff its full length
    store = adapters.store()
    for kind in catalog.descriptions():  # the case's engine is its own worker
        store.node_kinds[kind.name] = RegisteredKind(kind, clock.now())
    return CaseEngine(
        clock=clock,
        uow_factory=adapters.uow_factory(),
        queue=adapters.queue(),
        runner=engine.runner(),
        create_workflow=engine.create_workflow(),
        start_run=engine.start_run(),
        deliver_signal=engine.deliver_signal(),
        unanswered=lambda: list(network.unanswered),
        secrets_codec=codec,
    )
