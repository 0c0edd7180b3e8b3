"""Retention: reading and setting a workspace's policy, and the pass that applies them all.

The workers run `RetentionPass` every few minutes. It takes the maintenance turn first
(one process at a time prunes; the others skip their pass), then, workspace by workspace,
deletes expired execution families and audit entries in small batches, each its own short
transaction, so that pruning a large backlog never holds locks for long.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from application.audit import SYSTEM, Actor, AuditAction, audit_entry
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.maintenance import ExecutionPruner
from application.ports.retention import RetentionPolicies
from domain.flow_control import MAX_RATE_PERIOD
from domain.retention import DEFAULT_POLICY, PolicyProblem, RetentionPolicy

DEFAULT_BATCH_SIZE = 500
"""Families of executions (or audit entries) deleted per transaction."""
DEFAULT_PAUSE_SECONDS = 0.01
"""A breath between two batches, so the pass never crowds out the work it shares a pool with."""
AUDIT_KIND = "audit"
"""The kind under which a pass counts deleted audit entries (executions count by status)."""
FLOW_KEYS_KIND = "flow_control"
"""The kind under which a pass counts idle concurrency slots and ended rate windows."""


class InvalidRetentionPolicy(InvalidInput):
    """A retention policy with values out of bounds; `details` lists every one."""

    code = "invalid_retention_policy"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        first = problems[0]
        super().__init__(first.field, "; ".join(f"{p.field} {p.message}" for p in problems))
        self.details = [{"path": p.field, "message": p.message} for p in problems]


class RetentionSettings:
    """Reads and sets workspaces' retention policies (the API, CLI and console's service)."""

    def __init__(self, policies: RetentionPolicies, clock: Clock) -> None:
        self._policies = policies
        self._clock = clock

    async def policy_of(self, workspace_id: str) -> RetentionPolicy:
        """The policy that applies to the workspace: its own, or the defaults."""
        return await self._policies.get(workspace_id) or DEFAULT_POLICY

    async def set_policy(
        self, workspace_id: str, policy: RetentionPolicy, actor: Actor = SYSTEM
    ) -> RetentionPolicy:
        """Store the workspace's policy, with its audit entry; InvalidRetentionPolicy when a
        value is out of bounds."""
        problems = policy.problems()
        if problems:
            raise InvalidRetentionPolicy(problems)
        now = self._clock.now()
        change = audit_entry(
            workspace_id, now, actor, AuditAction.RETENTION_UPDATED, workspace_id, asdict(policy)
        )
        await self._policies.put(workspace_id, policy, now, change)
        return policy


@dataclass
class PassReport:
    """What one retention pass did."""

    started_at: datetime
    deleted: Counter[str] = field(default_factory=Counter)
    """Rows deleted, by kind: an execution status, or `audit`."""
    batches: int = 0
    longest_batch_seconds: float = 0.0
    """The longest single transaction of the pass: the longest any lock was held."""
    workspaces: int = 0

    def record_batch(self, deleted: dict[str, int], seconds: float) -> None:
        self.deleted.update(deleted)
        self.batches += 1
        self.longest_batch_seconds = max(self.longest_batch_seconds, seconds)


class RetentionPass:
    """Applies every workspace's policy once, in bounded transactions."""

    def __init__(
        self,
        policies: RetentionPolicies,
        pruner: ExecutionPruner,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        pause_seconds: float = DEFAULT_PAUSE_SECONDS,
    ) -> None:
        if batch_size < 1:
            raise ValueError("the batch size must be at least 1")
        self._policies = policies
        self._pruner = pruner
        self._clock = clock
        self._batch_size = batch_size
        self._pause = pause_seconds

    async def run(self) -> PassReport | None:
        """Prune every workspace; None when another process holds the maintenance turn."""
        async with self._pruner.maintenance_turn() as mine:
            if not mine:
                return None
            now = self._clock.now()
            report = PassReport(started_at=now)
            policies = await self._policies.list_all()
            for workspace_id in sorted(policies):
                policy = policies[workspace_id]
                await self._prune_executions(workspace_id, policy, now, report)
                await self._prune_audit(workspace_id, policy, now, report)
                report.workspaces += 1
            await self._prune_flow_keys(now, report)
            return report

    async def _prune_executions(
        self, workspace_id: str, policy: RetentionPolicy, now: datetime, report: PassReport
    ) -> None:
        cutoffs = policy.cutoffs(now)
        after = None
        while True:
            started = self._clock.monotonic()
            batch = await self._pruner.delete_expired(
                cutoffs, self._batch_size, workspace_id, after
            )
            report.record_batch(batch.deleted, self._clock.monotonic() - started)
            if batch.resume_after is None:
                return
            after = batch.resume_after
            await self._clock.sleep(self._pause)

    async def _prune_audit(
        self, workspace_id: str, policy: RetentionPolicy, now: datetime, report: PassReport
    ) -> None:
        before = policy.audit_cutoff(now)
        await self._in_batches(
            AUDIT_KIND,
            lambda: self._pruner.delete_audit_before(workspace_id, before, self._batch_size),
            report,
        )

    async def _prune_flow_keys(self, now: datetime, report: PassReport) -> None:
        """Forget the concurrency keys nobody holds and the rate windows that ended: one
        row per key value ever seen would otherwise stay forever."""
        # A day beyond the longest period: a worker whose clock runs ahead of the others'
        # still never ends a window that is running for them.
        windows_before = now - MAX_RATE_PERIOD - timedelta(days=1)
        await self._in_batches(
            FLOW_KEYS_KIND,
            lambda: self._pruner.delete_idle_flow_keys(windows_before, self._batch_size),
            report,
        )

    async def _in_batches(
        self, kind: str, delete_batch: Callable[[], Awaitable[int]], report: PassReport
    ) -> None:
        """Delete batch after batch (counted under `kind`) until one comes back short."""
        while True:
            started = self._clock.monotonic()
            count = await delete_batch()
            report.record_batch({kind: count} if count else {}, self._clock.monotonic() - started)
            if count < self._batch_size:
                return
            await self._clock.sleep(self._pause)
