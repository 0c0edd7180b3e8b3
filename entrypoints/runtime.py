"""One process's wiring: adapters chosen by settings, the engine container over them,
started and closed as a unit. The API, the worker and the CLI each open one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import providers

from adapters.clock import SystemClock
from adapters.memory.queue import InMemoryWorkQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.creation import CONTROL_CHANNEL, EVENTS_CHANNEL, WORK_CHANNEL
from application.nodes.builtin import ExecutorMap, builtin_executors
from application.ports.clock import Clock
from application.ports.queue import WorkQueue
from application.ports.unit_of_work import UnitOfWorkFactory
from entrypoints.containers import Engine
from entrypoints.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    uow_factory: UnitOfWorkFactory
    queue: WorkQueue
    engine: Engine
    postgres: Any = None
    """The PostgresAdapters bundle when running on Postgres (engine, listener)."""
    memory: InMemoryStore | None = None
    _closed: bool = field(default=False, repr=False)

    def subscribe(self, callback: Any) -> None:
        """Receive (channel, payload) for every committed notification."""
        if self.postgres is not None:
            self.postgres.listener.subscribe(callback)
        elif self.memory is not None:
            self.memory.subscribers.append(callback)

    async def close(self) -> None:
        if not self._closed and self.postgres is not None:
            await self.postgres.close()
        self._closed = True


def executors_for(settings: Settings) -> ExecutorMap:
    """Built-in executors plus the network ones, guarded by the configured allowlist."""
    from adapters.nodes.registry import network_executors

    return builtin_executors().with_executors(
        network_executors(settings.allowed_hosts, settings.http_max_response_bytes)
    )


def _engine(settings: Settings, clock: Clock, uow_factory: Any, queue: Any, secrets: Any) -> Engine:
    engine = Engine(
        clock=providers.Object(clock),
        uow_factory=providers.Object(uow_factory),
        queue=providers.Object(queue),
    )
    engine.executors.override(providers.Object(executors_for(settings)))
    engine.poison_pill_after.override(providers.Object(settings.poison_pill_after))
    if secrets is not None:
        engine.secrets.override(providers.Object(secrets))
    return engine


def _secret_store(settings: Settings, uow_factory: Any) -> Any:
    if settings.secret_key is None:
        return None
    from adapters.secrets.crypto import SecretCipher
    from adapters.secrets.repository import RepositorySecretStore

    return RepositorySecretStore(uow_factory, SecretCipher(settings.require_secret_key()))


WORKER_CHANNELS = (WORK_CHANNEL, CONTROL_CHANNEL)
"""Workers hear of new work and of cancel requests, not of every event."""
API_CHANNELS = (EVENTS_CHANNEL,)
"""The API feeds its live streams from the events channel; work notifications are for
workers only (an API process hearing every run's would spend CPU on nothing)."""


async def open_runtime(
    settings: Settings,
    clock: Clock | None = None,
    channels: Sequence[str] = API_CHANNELS,
    *,
    runs_worker: bool = False,
) -> Runtime:
    """Postgres when `DATABASE_URL` is set (the schema must be current), else in memory.

    `channels` are the notification channels this process listens to on Postgres;
    `runs_worker` makes it one of the workers that share out work notifications.
    """
    clock = clock or SystemClock()
    if settings.database_url:
        from adapters.postgres.setup import PostgresAdapters

        postgres = PostgresAdapters(
            settings.database_url,
            clock,
            pool_size=settings.pool_size,
            channels=channels,
            runs_worker=runs_worker,
        )
        await postgres.start()
        secrets = _secret_store(settings, postgres.uow_factory)
        engine = _engine(settings, clock, postgres.uow_factory, postgres.queue, secrets)
        engine.commit_uow_factory.override(providers.Object(postgres.commit_uow_factory))
        return Runtime(settings, clock, postgres.uow_factory, postgres.queue, engine, postgres)
    store = InMemoryStore(clock=clock)
    uow_factory = InMemoryUnitOfWorkFactory(store)
    queue = InMemoryWorkQueue(store)
    secrets = _secret_store(settings, uow_factory)
    engine = _engine(settings, clock, uow_factory, queue, secrets)
    return Runtime(settings, clock, uow_factory, queue, engine, memory=store)
