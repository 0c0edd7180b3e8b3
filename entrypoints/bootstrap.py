"""The composition root: every adapter choice this project makes, in one place.

`bootstrap(settings)` opens a `Runtime` for the API, the worker, the CLI, `treadle dev`
and the benchmarks: storage in memory, or on PostgreSQL when `DATABASE_URL` is set (its
schema must be current); the system clock; the secret cipher when `SECRET_KEY` is set; the
built-in and network node executors. Tests pass fakes in (a clock, a storage, executors)
instead of patching.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from adapters.clock import SystemClock
from application.creation import CONTROL_CHANNEL, EVENTS_CHANNEL, WORK_CHANNEL
from application.node_kinds import register_kinds
from application.nodes.builtin import ExecutorMap, builtin_executors
from application.ports.clock import Clock
from application.ports.tracing import NO_TRACING, Tracer
from entrypoints.containers import Engine
from entrypoints.runtime import MEMORY, Runtime, Storage
from entrypoints.settings import Settings, database_host

if TYPE_CHECKING:
    from adapters.memory.store import InMemoryStore
    from adapters.nodes.plugins import PluginCatalog
    from adapters.secrets.crypto import SecretCipher
    from entrypoints.api.services import ApiServices

WORKER_CHANNELS = (WORK_CHANNEL, CONTROL_CHANNEL)
"""Workers hear of new work and of cancel requests, not of every event."""
API_CHANNELS = (EVENTS_CHANNEL,)
"""The API feeds its live streams from the events channel; work notifications are for
workers only (an API process hearing every run's would spend CPU on nothing)."""


async def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    storage: Storage | None = None,
    executors: ExecutorMap | None = None,
    channels: Sequence[str] = API_CHANNELS,
    runs_worker: bool = False,
    installed: PluginCatalog | None = None,
    tracer_provider: Any = None,
) -> Runtime:
    """Open the runtime `settings` describe; the caller closes it.

    `channels` are the notification channels this process listens to on PostgreSQL;
    `runs_worker` makes it one of the workers that share out work notifications. A given
    `storage` is used as it is (and closed with the runtime); `executors` replace the
    configured node executors. `installed`: the node kinds from installed packages (by
    default those the `treadle.nodes` entry points list). `tracer_provider`: an
    OpenTelemetry tracer provider to trace into; without one, tracing is on only when the
    `OTEL_*` variables ask for it (and the `treadle[otel]` extra is installed).

    A worker registers the installed kinds it has, and claims only executions that need no
    other; so does a process over memory, which is its own worker.
    """
    clock = clock or SystemClock()
    catalog = installed if installed is not None else installed_kinds()
    executors = executors or executors_for(settings, catalog)
    if storage is None:
        kinds = executors.extension_kinds() if runs_worker else None
        storage = await open_storage(
            settings, clock, channels, runs_worker=runs_worker, kinds=kinds
        )
    if runs_worker or storage.where == MEMORY:
        has = [kind for kind in catalog.descriptions() if executors.has(kind.name)]
        await register_kinds(storage.uow_factory, has, clock.now())
    tracing = open_tracing(tracer_provider)
    storage = traced_storage(storage, tracing, clock)
    cipher = secret_cipher(settings)
    engine = engine_over(settings, clock, storage, executors)
    engine.installed_kinds.override(providers.Object(catalog))
    engine.tracer.override(providers.Object(tracing.tracer))
    if cipher is not None:
        engine.decryptor.override(providers.Object(cipher))
    services = partial(services_over, settings, clock, storage, cipher, engine)
    return Runtime(settings, clock, storage, engine, services, tracer_provider=tracing.provider)


@dataclass(frozen=True)
class Tracing:
    """The tracer the engine uses, the OpenTelemetry provider behind it (None: off), and
    whether the runtime made that provider (then it flushes and shuts it on close)."""

    tracer: Tracer = NO_TRACING
    provider: Any = None
    owned: bool = False


def open_tracing(tracer_provider: Any = None) -> Tracing:
    """OpenTelemetry tracing over `tracer_provider`, or over a provider the `OTEL_*`
    variables describe when they ask for tracing; otherwise none (and nothing of
    OpenTelemetry is imported)."""
    from adapters.tracing.config import tracing_installed, tracing_requested

    if tracer_provider is None and not tracing_requested():
        return Tracing()
    if not tracing_installed():
        logging.getLogger("treadle").warning(
            "OTEL_* variables ask for tracing but the treadle[otel] extra is not installed:"
            " tracing is off"
        )
        return Tracing()
    from adapters.tracing.otel import OtelTracer, provider_from_environment

    owned = tracer_provider is None
    provider = provider_from_environment() if owned else tracer_provider
    return Tracing(OtelTracer(provider), provider, owned)


def traced_storage(storage: Storage, tracing: Tracing, clock: Clock) -> Storage:
    """The storage with its claims traced, and closing the tracer provider it owns (which
    sends the spans still buffered); as it is when tracing is off."""
    if not tracing.tracer.enabled:
        return storage
    from adapters.tracing.queue import TracedQueue

    close_storage = storage.close

    async def close() -> None:
        try:
            await close_storage()
        finally:
            if tracing.owned:
                tracing.provider.shutdown()

    queue = TracedQueue(storage.queue, tracing.tracer, clock)
    return replace(storage, queue=queue, close=close)


async def open_storage(
    settings: Settings,
    clock: Clock,
    channels: Sequence[str],
    *,
    runs_worker: bool = False,
    kinds: Sequence[str] | None = None,
) -> Storage:
    """PostgreSQL when `DATABASE_URL` is set, else a fresh in-memory store."""
    if settings.database_url:
        return await postgres_storage(
            settings, clock, channels, runs_worker=runs_worker, kinds=kinds
        )
    from adapters.memory.store import InMemoryStore

    return memory_storage(InMemoryStore(clock=clock))


def memory_storage(store: InMemoryStore) -> Storage:
    """The ports over one in-memory store (tests keep the store to look inside it)."""
    from adapters.memory.maintenance import InMemoryExecutionPruner
    from adapters.memory.notifications import InMemoryNotifications
    from adapters.memory.queue import InMemoryWorkQueue
    from adapters.memory.readiness import AlwaysReady
    from adapters.memory.retention import InMemoryRetentionPolicies
    from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory

    queue = InMemoryWorkQueue(store)
    return Storage(
        uow_factory=InMemoryUnitOfWorkFactory(store),
        queue=queue,
        notifications=InMemoryNotifications(store),
        readiness=AlwaysReady(),
        pruner=InMemoryExecutionPruner(store),
        retention_policies=InMemoryRetentionPolicies(store),
        close=queue.close,
        where=MEMORY,
    )


async def postgres_storage(
    settings: Settings,
    clock: Clock,
    channels: Sequence[str],
    *,
    runs_worker: bool = False,
    kinds: Sequence[str] | None = None,
) -> Storage:
    """The ports over `DATABASE_URL`, listening on `channels`; SchemaOutOfDate or
    StorageError when the database is not usable. `kinds`: the installed kinds a worker
    has (it claims only executions that need no other)."""
    from adapters.postgres.maintenance import PostgresExecutionPruner
    from adapters.postgres.readiness import SchemaReadiness
    from adapters.postgres.retention import PostgresRetentionPolicies
    from adapters.postgres.setup import PostgresAdapters

    url = settings.require_database()
    postgres = PostgresAdapters(
        url,
        clock,
        pool_size=settings.pool_size,
        channels=channels,
        runs_worker=runs_worker,
        queues=settings.queue_names if runs_worker else (),
        kinds=kinds,
        session_url=settings.session_database_url,
        pooler=settings.database_pooler,
    )
    await postgres.start()
    return Storage(
        uow_factory=postgres.uow_factory,
        queue=postgres.queue,
        notifications=postgres.listener,
        readiness=SchemaReadiness(postgres.engine),
        pruner=PostgresExecutionPruner(postgres.engine),
        retention_policies=PostgresRetentionPolicies(postgres.engine),
        commit_uow_factory=postgres.commit_uow_factory,
        run_inserts=postgres.run_inserts,
        close=postgres.close,
        where=database_host(url),
    )


def upgrade_schema(settings: Settings) -> None:
    """Bring the PostgreSQL schema to this version of the code: over the session URL when
    there is one (a direct connection, as poolers' vendors advise for schema changes),
    else over `DATABASE_URL` as `TREADLE_DATABASE_POOLER` describes it."""
    from adapters.postgres.migrate import upgrade

    if settings.session_database_url:
        upgrade(settings.session_database_url, pooler="session")
    else:
        upgrade(settings.require_database(), pooler=settings.database_pooler)


def executors_for(settings: Settings, installed: PluginCatalog | None = None) -> ExecutorMap:
    """Built-in executors, the network ones guarded by the configured allowlist, and those
    of the installed node kinds (by default, what the entry points list)."""
    from adapters.nodes.registry import network_executors

    catalog = installed if installed is not None else installed_kinds()
    return (
        builtin_executors()
        .with_executors(network_executors(settings.allowed_hosts, settings.http_max_response_bytes))
        .with_executors(catalog.executors())
    )


def installed_kinds() -> PluginCatalog:
    """The node kinds the installed packages add (loaded once per process)."""
    from adapters.nodes.plugins import installed_kinds as load

    return load()


def secret_cipher(settings: Settings) -> SecretCipher | None:
    """The cipher that seals secrets at rest, when `SECRET_KEY` is set."""
    if settings.secret_key is None:
        return None
    from adapters.secrets.crypto import SecretCipher

    return SecretCipher(settings.require_secret_key())


def engine_over(
    settings: Settings, clock: Clock, storage: Storage, executors: ExecutorMap
) -> Engine:
    engine = Engine(
        clock=providers.Object(clock),
        uow_factory=providers.Object(storage.uow_factory),
        queue=providers.Object(storage.queue),
        executors=providers.Object(executors),
    )
    engine.poison_pill_after.override(providers.Object(settings.poison_pill_after))
    engine.max_depth.override(providers.Object(settings.max_depth))
    if storage.commit_uow_factory is not None:
        engine.commit_uow_factory.override(providers.Object(storage.commit_uow_factory))
    if storage.run_inserts is not None:
        engine.run_inserts.override(providers.Object(storage.run_inserts))
    return engine


def services_over(
    settings: Settings,
    clock: Clock,
    storage: Storage,
    cipher: SecretCipher | None,
    engine: Engine,
) -> ApiServices:
    """The API's services; `Runtime.services` builds them when first asked, so a worker,
    which never asks, does not import them."""
    from entrypoints.api.services import ApiServices

    services = ApiServices(
        clock=providers.Object(clock),
        uow_factory=providers.Object(storage.uow_factory),
        token_cache_ttl=providers.Object(timedelta(seconds=settings.token_cache_seconds)),
        start_run=engine.start_run,
        notifications=providers.Object(storage.notifications),
    )
    if cipher is not None:
        services.encryptor.override(providers.Object(cipher))
    services.session_lifetime.override(providers.Object(timedelta(hours=settings.session_hours)))
    _plug_sign_in(services, settings, clock)
    return services


def _plug_sign_in(services: ApiServices, settings: Settings, clock: Clock) -> None:
    """People's JWTs and the console's "Sign in with ..." buttons, when the settings name
    an identity provider or a Supabase project."""
    from entrypoints.identity import identity_verifier, oidc_providers

    verifier = identity_verifier(settings, clock=clock)
    if verifier is not None:
        services.identity_verifier.override(providers.Object(verifier))
        services.oidc_providers.override(providers.Object(oidc_providers(settings, verifier)))
