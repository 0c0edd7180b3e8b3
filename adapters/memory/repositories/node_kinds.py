"""The kinds the workers have, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.memory.repositories.base import Repo
from application.ports.node_kinds import KindDescription, RegisteredKind


class MemoryNodeKinds(Repo):
    async def register(self, kinds: Sequence[KindDescription], now: datetime) -> None:
        for kind in kinds:
            self.journal.set(self.store.node_kinds, kind.name, RegisteredKind(kind, now))

    async def registered(self) -> list[RegisteredKind]:
        return [self.store.node_kinds[name] for name in sorted(self.store.node_kinds)]
