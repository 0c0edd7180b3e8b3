"""Prune: delete finished executions older than a cutoff, in batches, reporting progress."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.maintenance import ExecutionPruner

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class PruneExecutions:
    older_than: timedelta
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class PruneProgress:
    total: int
    """Prunable executions counted when pruning began (others may finish meanwhile)."""
    deleted: int


class PruneExecutionsHandler:
    """Deletes in small transactions so that a large prune never holds long locks."""

    def __init__(self, pruner: ExecutionPruner, clock: Clock) -> None:
        self._pruner = pruner
        self._clock = clock

    async def __call__(self, command: PruneExecutions) -> AsyncIterator[PruneProgress]:
        """Yield the starting count first, then the running total after every batch."""
        if command.older_than <= timedelta(0):
            raise InvalidInput("older_than", "the age to prune must be positive")
        if command.batch_size < 1:
            raise InvalidInput("batch_size", "the batch size must be at least 1")
        cutoff = self._clock.now() - command.older_than
        total = await self._pruner.count_prunable(cutoff)
        deleted = 0
        yield PruneProgress(total, deleted)
        while True:
            removed = await self._pruner.delete_prunable(cutoff, command.batch_size)
            if removed == 0:
                return
            deleted += removed
            yield PruneProgress(max(total, deleted), deleted)
