"""The maintenance port: bulk housekeeping that no single use case's repositories cover."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ExecutionPruner(Protocol):
    """Deletes finished executions with everything that hangs off them.

    An execution is prunable when it finished (completed, failed, cancelled or timed
    out) before the cutoff and neither its parent nor any of its children is still
    active: a live parent may still read a child's result, and a live child reports
    back to its parent.
    """

    async def count_prunable(self, finished_before: datetime) -> int: ...

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        """Delete up to `limit` prunable executions (oldest first) in one transaction,
        with their node runs, events, signals and idempotency keys; return how many."""
        ...
