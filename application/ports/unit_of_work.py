"""The unit-of-work port: one transaction, its repositories, and commit.

Leaving the context without `commit()` rolls everything back. Every writer that
changes an execution saves the execution row first (a compare-and-set on its event
sequence, and on the lease token for workers), which serialises writers per execution.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from application.audit import AuditEntry, AuditFilter
from application.people import ConsoleSession, Invitation, Member, Membership, User
from application.ports.node_kinds import NodeKindRepository
from application.records import (
    ApiToken,
    Lease,
    Schedule,
    Signal,
    StoredEvent,
    StoredSecret,
    Workflow,
    WorkflowVersion,
    Workspace,
)
from application.triggers.records import Trigger, TriggerDelivery
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus


@dataclass(frozen=True)
class FencedSave:
    """One compare-and-set write of an execution row (see `ExecutionRepository.save`)."""

    execution: Execution
    expected_seq: int
    lease: Lease | None


@dataclass(frozen=True)
class StepFailure:
    """How an execution's steps have been failing: `count` times in a row the same `kind`
    (the last one saying `message`). See the poison-pill rule in `application/engine`."""

    kind: str
    message: str
    count: int


@dataclass(frozen=True)
class SignalTake:
    """A waiting node of an execution took one of its signals."""

    signal_id: str
    execution_id: str
    node_id: str


@dataclass(frozen=True)
class NewExecution:
    """An execution to insert, with its node ids (in definition order) and first events."""

    execution: Execution
    node_ids: Sequence[str]
    first_events: Sequence[DomainEvent] = ()


@dataclass(frozen=True)
class ItemsAt:
    """The items of a `for_each` node of an execution, looked at from index `start` on."""

    execution_id: str
    node_id: str
    start: int = 0


@dataclass(frozen=True)
class ItemChild:
    """The child execution that runs one item of a `for_each` node, as the node sees it."""

    index: int
    execution_id: str
    status: ExecutionStatus
    output: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class ItemProgress:
    """How a `for_each` node's items stand, read without loading all of them.

    `active` counts the items that have not ended; `failed` is the first item before
    `start` that ended without completing; `ahead` the items already started from `start`
    on, within the window looked at, by index.
    """

    active: int = 0
    failed: ItemChild | None = None
    ahead: tuple[ItemChild, ...] = ()


@dataclass(frozen=True, order=True)
class ChildPosition:
    """Where a child execution stands in the listing of its parent's children (see
    `ExecutionRepository.search`): by the parent's node, then by item index (-1 for a
    sub-workflow, which has none), then oldest first."""

    node_id: str
    item_index: int
    created_at: datetime
    id: str


def child_position(child: Execution) -> ChildPosition:
    """The child's place among its parent's children; it must have a parent."""
    link = child.parent
    if link is None:
        raise ValueError(f"{child.id} is not a child execution")
    index = -1 if link.item_index is None else link.item_index
    return ChildPosition(link.node_id, index, child.created_at, child.id)


STEP_RETRY_FIRST_SECONDS = 1.0
STEP_RETRY_MAX_SECONDS = 30.0


def step_failure_backoff(count: int) -> float:
    """Seconds before an execution whose step failed `count` times in a row is tried again:
    1 s doubling up to 30 s (five failures are given up on within about half a minute)."""
    doubled = STEP_RETRY_FIRST_SECONDS * float(2 ** max(count - 1, 0))
    return min(doubled, STEP_RETRY_MAX_SECONDS)


@dataclass(frozen=True)
class EventBatch:
    """Events of one execution, numbered from `first_seq`."""

    execution_id: str
    first_seq: int
    events: Sequence[DomainEvent]


class WorkflowRepository(Protocol):
    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None: ...

    async def get(self, workspace_id: str, workflow_id: str) -> Workflow | None: ...

    async def get_by_name(self, workspace_id: str, name: str) -> Workflow | None: ...

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        """Store a new immutable version and make it the workflow's latest."""
        ...

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None: ...

    async def list_versions(self, workflow_id: str) -> list[WorkflowVersion]: ...

    async def search(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Workflow]: ...

    async def save(self, workflow: Workflow) -> None: ...


class ExecutionRepository(Protocol):
    async def add(
        self,
        execution: Execution,
        node_ids: Sequence[str],
        first_events: Sequence[DomainEvent] = (),
    ) -> None:
        """Insert a new execution with a pending node run per node, and its first events
        (numbered from 1, stamped with its creation time)."""
        ...

    async def add_many(self, new: Sequence[NewExecution]) -> None:
        """Insert several new executions as `add` inserts one, in a few statements."""
        ...

    async def get(self, execution_id: str) -> Execution | None: ...

    async def get_many(self, execution_ids: Sequence[str]) -> dict[str, Execution]:
        """The executions that exist among `execution_ids`, by id (one read for a batch)."""
        ...

    async def lock(self, execution_id: str) -> Execution | None:
        """Read the execution and hold its row until the transaction ends."""
        ...

    async def lock_leased(self, leases: Sequence[Lease]) -> dict[str, Execution]:
        """Read and hold the rows of the executions whose lease still holds (same token and
        owner, not expired), keyed by id; an execution whose lease is gone is left out.

        Rows are locked in id order, so two callers never wait on each other in a circle.
        """
        ...

    async def lock_leased_with_runs(
        self, leases: Sequence[Lease], runs_of: Sequence[str]
    ) -> tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]:
        """`lock_leased`, then the node runs of the executions in `runs_of` that it locked
        (read after the locks are held, so no other writer can have changed them since)."""
        ...

    async def save(self, execution: Execution, *, expected_seq: int, lease: Lease | None) -> None:
        """Compare-and-set write: lands only if the stored sequence is `expected_seq` and,
        with a lease, the lease token still matches and has not expired.

        Raises LeaseLost when the lease no longer holds, StaleExecution when another
        writer moved the sequence first.
        """
        ...

    async def save_many(self, saves: Sequence[FencedSave]) -> None:
        """Several compare-and-set writes at once, each judged as `save` judges it; raises
        for the first one rejected (the caller then rolls the whole transaction back)."""
        ...

    async def save_with_history(
        self,
        saves: Sequence[FencedSave],
        runs: Mapping[str, Sequence[NodeRun]],
        events: Sequence[EventBatch],
        at: datetime,
    ) -> None:
        """`save_many`, then `node_runs.save_for(runs)` and `events.append_many(events, at)`,
        as one write. Raises as they do; the caller then rolls the whole transaction back
        (unlike `append_many`, a refused event does not take back what landed)."""
        ...

    async def record_step_failure(
        self, lease: Lease, kind: str, message: str, now: datetime
    ) -> StepFailure | None:
        """Count one more failed step of the execution `lease` holds (the lease token and
        owner must match; the lease may have expired meanwhile): one more if the last
        failure had the same `kind`, else 1. None when the lease is gone.

        The lease then ends after `step_failure_backoff(count)` from `now` (never later
        than it would have), so the execution is tried again soon, not when it lapses."""
        ...

    async def step_failures_of(self, execution_ids: Sequence[str]) -> dict[str, StepFailure]:
        """The step failures of those of `execution_ids` that have failed steps, by id."""
        ...

    async def clear_step_failures(self, execution_id: str) -> None:
        """Forget the execution's failed steps (a step succeeded, or it was given up)."""
        ...

    async def find_by_idempotency_key(self, workflow_id: str, key: str) -> Execution | None: ...

    async def remember_idempotency_key(self, workflow_id: str, key: str, execution_id: str) -> None:
        """Raises Conflict if the key is already taken."""
        ...

    async def find_child(
        self, parent_execution_id: str, parent_node_id: str
    ) -> Execution | None: ...

    async def item_progress(
        self, asked: Sequence[ItemsAt], window: int
    ) -> dict[ItemsAt, ItemProgress]:
        """How each asked node's items stand; `ahead` holds the items whose index is in
        `[start, start + window)`."""
        ...

    async def item_outcomes(self, execution_id: str, node_id: str) -> list[ItemChild]:
        """Every item of the node, by index, with its output and error."""
        ...

    async def next_queued(self, workflow_id: str, key: str) -> Execution | None:
        """The oldest execution of (workflow, concurrency key) waiting for a slot, locked;
        one another transaction holds is passed over."""
        ...

    async def active_items(self, execution_id: str, node_id: str) -> list[str]:
        """The ids of the node's items that have not ended."""
        ...

    async def find_by_schedule_fire(
        self, schedule_id: str, fire_time: datetime
    ) -> Execution | None: ...

    async def search(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        parent_execution_id: str | None = None,
        created_after: datetime | None = None,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
        after_child: ChildPosition | None = None,
    ) -> list[Execution]:
        """Newest first; only the rows created after `created_after` and whose
        (created_at, id) is below `before`, the last row of the previous page.

        With `parent_execution_id`, only that execution's children (its sub-workflows and
        the items of its `for_each` nodes), in `ChildPosition` order instead: the next
        page starts after `after_child`, and `before` only bounds the rows."""
        ...

    async def any_active_for_schedule(self, schedule_id: str) -> bool: ...


class FlowControlRepository(Protocol):
    """The counters behind workflows' concurrency and rate limits, one row per key."""

    async def acquire_slot(self, workflow_id: str, key: str, limit: int) -> tuple[bool, int]:
        """Take one of the `limit` slots of (workflow, key) if one is free, waiting for any
        transaction changing that key: (whether taken, how many are taken now)."""
        ...

    async def release_slot(self, workflow_id: str, key: str) -> None:
        """Give one slot of (workflow, key) back."""
        ...

    async def lock_keys(
        self, slots: Sequence[tuple[str, str]], rates: Sequence[tuple[str, str]]
    ) -> None:
        """Lock the counters of these (workflow, key) pairs, in one order every
        transaction uses, before a batch takes or gives back places under them: two
        batches touching the same keys then wait for each other instead of deadlocking."""
        ...

    async def take_rate(
        self, workflow_id: str, key: str, window_start: datetime, limit: int
    ) -> bool:
        """Count one start in the rate window beginning at `window_start` for (workflow,
        key), if fewer than `limit` started in it; whether it was counted."""
        ...


class NodeRunRepository(Protocol):
    async def get_all(self, execution_id: str) -> dict[str, NodeRun]: ...

    async def waiting_for(self, execution_id: str, node_id: str) -> dict[str, Any] | None:
        """What one node of an execution waits on (None: nothing, or no such node); reads
        that field only, not the node's input or output."""
        ...

    async def get_for(self, execution_ids: Sequence[str]) -> dict[str, dict[str, NodeRun]]:
        """The node runs of several executions, keyed by execution id then node id."""
        ...

    async def save_many(self, execution_id: str, runs: Sequence[NodeRun]) -> None: ...

    async def save_for(self, runs: Mapping[str, Sequence[NodeRun]]) -> None:
        """Insert or update the node runs of several executions, keyed by execution id."""
        ...


class EventRepository(Protocol):
    async def append(
        self, execution_id: str, first_seq: int, events: Sequence[DomainEvent], at: datetime
    ) -> None:
        """Insert events numbered from `first_seq`; a repeated number is a conflict."""
        ...

    async def append_many(self, batches: Sequence[EventBatch], at: datetime) -> None:
        """`append` for several executions at once; a repeated number is a conflict."""
        ...

    async def search(
        self, execution_id: str, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredEvent]: ...


class SignalRepository(Protocol):
    async def add(self, signal: Signal) -> None: ...

    async def unconsumed(
        self, wanted: Mapping[str, Collection[str]], per_name: int
    ) -> dict[str, dict[str, list[Signal]]]:
        """For each execution id and signal name in `wanted`, its oldest unconsumed signals
        (at most `per_name`, oldest first): execution id -> name -> signals."""
        ...

    async def consume_many(self, takes: Sequence[SignalTake], at: datetime) -> None:
        """Mark each signal taken by its node; a signal already taken raises Conflict."""
        ...

    async def search(self, execution_id: str) -> list[Signal]: ...


class ScheduleRepository(Protocol):
    async def add(self, schedule: Schedule) -> None: ...

    async def get(self, workspace_id: str, schedule_id: str) -> Schedule | None: ...

    async def save(self, schedule: Schedule) -> None: ...

    async def delete(self, schedule_id: str) -> None: ...

    async def search(
        self, workspace_id: str, *, workflow_id: str | None = None
    ) -> list[Schedule]: ...

    async def lock_due(self, now: datetime, limit: int) -> list[Schedule]:
        """Enabled schedules whose next fire time has come, locked (others skip them)."""
        ...


class TriggerRepository(Protocol):
    async def add(self, trigger: Trigger) -> None: ...

    async def get(self, workspace_id: str, trigger_id: str) -> Trigger | None: ...

    async def find(self, trigger_id: str) -> Trigger | None:
        """The trigger with that id in any workspace (a hook's URL names no workspace)."""
        ...

    async def save(self, trigger: Trigger) -> None: ...

    async def delete(self, trigger_id: str) -> None:
        """Remove the trigger and its deliveries."""
        ...

    async def search(
        self, workspace_id: str, *, workflow_id: str | None = None
    ) -> list[Trigger]: ...

    async def record_delivery(self, delivery: TriggerDelivery, keep: int) -> None:
        """Store a delivery, then forget all but the newest `keep` of its trigger's."""
        ...

    async def deliveries(self, trigger_id: str, limit: int) -> list[TriggerDelivery]:
        """The trigger's newest deliveries first."""
        ...


class WorkspaceRepository(Protocol):
    async def add(self, workspace: Workspace) -> None: ...

    async def get(self, workspace_id: str) -> Workspace | None: ...

    async def get_by_name(self, name: str) -> Workspace | None: ...


class TokenRepository(Protocol):
    async def add(self, token: ApiToken) -> None: ...

    async def find_by_hash(self, token_hash: str) -> ApiToken | None: ...

    async def get(self, workspace_id: str, token_id: str) -> ApiToken | None:
        """The workspace's token with that id (None: none, or another workspace's)."""
        ...

    async def search(self, workspace_id: str) -> list[ApiToken]: ...

    async def save(self, token: ApiToken) -> None: ...


class SecretRepository(Protocol):
    async def put(self, secret: StoredSecret) -> None:
        """Insert or replace the secret of that name."""
        ...

    async def get_many(self, workspace_id: str, names: Sequence[str]) -> list[StoredSecret]: ...

    async def search(self, workspace_id: str) -> list[StoredSecret]: ...

    async def delete(self, workspace_id: str, name: str) -> bool: ...


class AuditRepository(Protocol):
    """The audit log: entries are added with the change they record, never changed."""

    async def add(self, entry: AuditEntry) -> None:
        """Store the entry (the store gives it its id)."""
        ...

    async def search(
        self,
        workspace_id: str,
        where: AuditFilter,
        *,
        limit: int = 50,
        before: tuple[datetime, int] | None = None,
    ) -> list[AuditEntry]:
        """The workspace's entries matching `where`, newest first (by time, then id);
        only those whose (at, id) is below `before`, the last entry of the previous page."""
        ...


class PeopleRepository(Protocol):
    """Users, their memberships of workspaces, and invitations waiting for a sign-in."""

    async def add_user(self, user: User) -> None: ...

    async def save_user(self, user: User) -> None: ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def find_user(self, issuer: str, subject: str) -> User | None: ...

    async def memberships_of(self, user_id: str) -> list[Membership]:
        """The user's memberships, oldest first."""
        ...

    async def membership(self, workspace_id: str, user_id: str) -> Membership | None: ...

    async def workspaces_of(self, user_id: str) -> list[tuple[Workspace, str]]:
        """The user's workspaces with their role in each, oldest membership first."""
        ...

    async def members(self, workspace_id: str, *, lock: bool = False) -> list[Member]:
        """The workspace's members, oldest first; with `lock`, their rows stay locked
        until the unit of work ends (a role change checks the admins it read)."""
        ...

    async def put_membership(self, membership: Membership) -> None:
        """Insert or replace the user's membership of that workspace."""
        ...

    async def remove_membership(self, workspace_id: str, user_id: str) -> bool: ...

    async def add_invitation(self, invitation: Invitation) -> None:
        """Store the invitation, replacing one for the same email in that workspace."""
        ...

    async def invitations(self, workspace_id: str) -> list[Invitation]: ...

    async def invitations_for(self, email: str) -> list[Invitation]:
        """Every workspace's invitations for `email` (normalised)."""
        ...

    async def remove_invitation(self, workspace_id: str, invitation_id: str) -> bool: ...


class SessionRepository(Protocol):
    """Signed-in consoles, by the hash of their cookie."""

    async def add(self, session: ConsoleSession) -> None: ...

    async def get(self, id_hash: str) -> ConsoleSession | None: ...

    async def remove(self, id_hash: str) -> None: ...

    async def remove_for(self, workspace_id: str, user_id: str) -> None:
        """End every session of the person in the workspace."""
        ...

    async def remove_expired(self, now: datetime, limit: int) -> int:
        """Forget up to `limit` sessions that expired before `now`; how many went."""
        ...


class UnitOfWork(Protocol):
    @property
    def workflows(self) -> WorkflowRepository: ...

    @property
    def executions(self) -> ExecutionRepository: ...

    @property
    def node_runs(self) -> NodeRunRepository: ...

    @property
    def flow(self) -> FlowControlRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def signals(self) -> SignalRepository: ...

    @property
    def schedules(self) -> ScheduleRepository: ...

    @property
    def triggers(self) -> TriggerRepository: ...

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def secrets(self) -> SecretRepository: ...

    @property
    def node_kinds(self) -> NodeKindRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def people(self) -> PeopleRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def commit_without_waiting_for_disk(self) -> None:
        """Let the next commit return before its record reaches the disk (PostgreSQL's
        `synchronous_commit = off`): a crash may lose it, never a later durable commit,
        which flushes it too. Only for writes that are safe to redo (see the engine)."""
        ...

    def notify_after_commit(self, channel: str, payload: Mapping[str, Any]) -> None:
        """Queue a notification sent only if the transaction commits."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
