"""The maintenance port: bulk housekeeping that no single use case's repositories cover."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.retention import ExpiryCutoffs

FamilyPosition = tuple[datetime, str]
"""Where a family's top execution stands in pruning order: (created_at, id)."""


@dataclass(frozen=True)
class PrunedBatch:
    """What one pruning transaction did, and where the next one carries on."""

    deleted: dict[str, int]
    """Executions deleted (tops and descendants), by status."""
    resume_after: FamilyPosition | None
    """The position of the last top this batch looked at, when there may be more; None
    when it found fewer than it was allowed (nothing is left past its cutoff)."""


class ExecutionPruner(Protocol):
    """Deletes finished executions with everything that hangs off them.

    The pruner deletes families: an execution that has no parent (or whose parent is gone)
    goes with all its descendants, once it is past its cutoff and neither it nor any
    descendant is still active. So a child never outlives the run that started it only
    to be found without it, and a live child keeps its whole family: it still reports
    back to its parent.
    """

    async def count_prunable(self, finished_before: datetime) -> int:
        """How many families (counted by their top execution) finished before the cutoff."""
        ...

    async def delete_prunable(self, finished_before: datetime, limit: int) -> int:
        """Delete up to `limit` prunable families (oldest first) in one transaction, with
        their node runs, events, signals and idempotency keys; return how many executions
        went (descendants included)."""
        ...

    async def delete_expired(
        self,
        cutoffs: ExpiryCutoffs,
        limit: int,
        workspace_id: str | None = None,
        after: FamilyPosition | None = None,
    ) -> PrunedBatch:
        """Delete up to `limit` families whose top execution is past its cutoff for its
        status (of one workspace, or of all), oldest first from just after `after`, in
        one transaction. Passing the previous batch's `resume_after` as `after` keeps each
        batch from walking again over what the ones before it deleted or left."""
        ...

    async def delete_audit_before(self, workspace_id: str, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the workspace's audit entries made before `before`, in
        one transaction; return how many."""
        ...

    async def delete_idle_flow_keys(self, windows_before: datetime, limit: int) -> int:
        """Delete, in one transaction, up to `limit` concurrency-slot rows no execution
        holds and up to `limit` rate windows that started before `windows_before` (rows
        that say no more than their absence would); how many went."""
        ...

    def maintenance_turn(self) -> AbstractAsyncContextManager[bool]:
        """Enter to take the maintenance turn: True when this process has it (until the
        block ends), False when another one holds it and this one should skip."""
        ...
