"""One process's open runtime: the ports of the chosen storage, the engine and the services
over them, closed as a unit. `entrypoints.bootstrap` builds it; nothing here knows which
adapters sit behind the ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from application.ports.clock import Clock
from application.ports.maintenance import ExecutionPruner
from application.ports.notifications import Notifications, Subscriber
from application.ports.queue import WorkQueue
from application.ports.readiness import Readiness
from application.ports.retention import RetentionPolicies
from application.ports.run_inserts import RunInserts
from application.ports.unit_of_work import UnitOfWorkFactory
from entrypoints.containers import Engine
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from application.retention import RetentionSettings
    from entrypoints.api.services import ApiServices


MEMORY = "memory"
"""Where the data of a storage in this process's memory lives."""


async def _nothing_to_close() -> None:
    return None


@dataclass(frozen=True)
class Storage:
    """The ports one adapter set provides (in memory or PostgreSQL), and how to close it."""

    uow_factory: UnitOfWorkFactory
    queue: WorkQueue
    notifications: Notifications
    readiness: Readiness
    pruner: ExecutionPruner
    retention_policies: RetentionPolicies
    commit_uow_factory: UnitOfWorkFactory | None = None
    """Units of work for the group committer, which runs one at a time (None: `uow_factory`)."""
    run_inserts: RunInserts | None = None
    """Stores run requests in one exchange (None: through a unit of work)."""
    close: Callable[[], Awaitable[None]] = _nothing_to_close
    where: str = MEMORY
    """Where the data lives, for log lines: `memory` or the database host."""


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    storage: Storage
    engine: Engine
    build_services: Callable[[], ApiServices] = field(repr=False)
    """Builds `services` on first use: a worker never uses them, nor imports their modules."""
    tracer_provider: Any = field(default=None, repr=False)
    """The OpenTelemetry tracer provider when tracing is on (the API traces requests into
    it); None when it is off."""
    _closed: bool = field(default=False, repr=False)

    @cached_property
    def services(self) -> ApiServices:
        """The API's services (tokens, secrets, schedules, workspaces, queries), built once."""
        return self.build_services()

    def retention_settings(self) -> RetentionSettings:
        """Reading and setting workspaces' retention policies over this storage."""
        from application.retention import RetentionSettings

        return RetentionSettings(self.storage.retention_policies, self.clock)

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.storage.uow_factory

    @property
    def queue(self) -> WorkQueue:
        return self.storage.queue

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive (channel, payload) for every committed notification; returns the way out."""
        return self.storage.notifications.subscribe(subscriber)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if "services" in self.__dict__:  # built: its sign-in verifier holds HTTP connections
                verifier = self.services.identity_verifier()
                if verifier is not None:
                    await verifier.aclose()
            await self.storage.close()
