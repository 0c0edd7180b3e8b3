"""The adapter sets a simulated cluster can run on: memory here, Postgres in the contract suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.clock import FakeClock
from adapters.memory.queue import InMemoryWorkQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.ports.queue import WorkQueue
from application.ports.unit_of_work import UnitOfWorkFactory


class SimPorts(Protocol):
    """An adapter set on the cluster's clock, and the test's lever to end every lease."""

    @property
    def uow_factory(self) -> UnitOfWorkFactory: ...

    @property
    def queue(self) -> WorkQueue: ...

    async def expire_leases(self) -> None:
        """Make every live lease lapse now, as if every worker had died."""
        ...


@dataclass
class MemoryPorts:
    """The in-memory adapter set, with its store open for synchronous inspection."""

    store: InMemoryStore
    uow_factory: InMemoryUnitOfWorkFactory
    queue: InMemoryWorkQueue

    @classmethod
    def on(cls, clock: FakeClock) -> MemoryPorts:
        store = InMemoryStore(clock=clock)
        return cls(store, InMemoryUnitOfWorkFactory(store), InMemoryWorkQueue(store))

    async def expire_leases(self) -> None:
        self.queue.expire_leases()


PortsFactory = Callable[[FakeClock], SimPorts]
