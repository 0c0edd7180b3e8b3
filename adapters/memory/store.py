"""The in-memory store: every table as a dict, one lock serialising transactions."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from application.audit import AuditEntry
from application.people import ConsoleSession, Invitation, Membership, User
from application.ports.clock import Clock
from application.ports.node_kinds import RegisteredKind
from application.ports.unit_of_work import StepFailure
from application.records import (
    ApiToken,
    Schedule,
    Signal,
    StoredEvent,
    StoredSecret,
    Workflow,
    WorkflowVersion,
    Workspace,
)
from application.triggers.records import Trigger, TriggerDelivery
from domain.execution import Execution
from domain.node_run import NodeRun


@dataclass
class LeaseRow:
    owner: str | None = None
    token: int = 0
    expires_at: datetime | None = None
    member: int | None = None
    """The membership of the work queue that took the lease (see `InMemoryWorkQueue`)."""


@dataclass
class InMemoryStore:
    """All the state of a Treadle installation, held in this process."""

    clock: Clock
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    versions: dict[tuple[str, int], WorkflowVersion] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    leases: dict[str, LeaseRow] = field(default_factory=lambda: defaultdict(LeaseRow))
    node_runs: dict[str, dict[str, NodeRun]] = field(default_factory=dict)
    events: dict[str, list[StoredEvent]] = field(default_factory=lambda: defaultdict(list))
    signals: dict[str, list[Signal]] = field(default_factory=lambda: defaultdict(list))
    schedules: dict[str, Schedule] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    trigger_deliveries: dict[str, list[TriggerDelivery]] = field(default_factory=dict)
    """Each trigger's newest deliveries, oldest first."""
    idempotency: dict[tuple[str, str], str] = field(default_factory=dict)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    secrets: dict[tuple[str, str], StoredSecret] = field(default_factory=dict)
    step_failures: dict[str, StepFailure] = field(default_factory=dict)
    slots: dict[tuple[str, str], int] = field(default_factory=dict)
    """How many executions of each (workflow, concurrency key) hold a slot."""
    rate_windows: dict[tuple[str, str], tuple[datetime, int]] = field(default_factory=dict)
    """The current rate window of each (workflow, rate key) and how many started in it."""
    items: dict[tuple[str, str, int], str] = field(default_factory=dict)
    """The child execution of each (parent, node, index) of a `for_each` node (unique)."""
    items_of: dict[tuple[str, str], dict[int, str]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """The same, grouped by node: a step reads one node's items without a scan."""
    node_kinds: dict[str, RegisteredKind] = field(default_factory=dict)
    """The kinds that installed packages add, as the workers registered them, by name."""
    users: dict[str, User] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Membership] = field(default_factory=dict)
    """Each (workspace, user)'s membership."""
    invitations: dict[tuple[str, str], Invitation] = field(default_factory=dict)
    """Each (workspace, email)'s invitation."""
    sessions: dict[str, ConsoleSession] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    """The audit log, in the order entries were added."""
    audit_ids: int = 0
    """The last id given to an audit entry."""
    subscribers: list[Callable[[str, Mapping[str, Any]], None]] = field(default_factory=list)
    work_available: asyncio.Event = field(default_factory=asyncio.Event)
    members: set[int] = field(default_factory=set)
    """The work queues open on this store, as the membership locks say on PostgreSQL."""

    def numbered(self, entry: AuditEntry) -> AuditEntry:
        """The audit entry with the next id. Ids only grow, as an identity column's do: one
        rolled back is not given again."""
        self.audit_ids += 1
        return replace(entry, id=self.audit_ids)

    def publish(self, channel: str, payload: Mapping[str, Any]) -> None:
        """Deliver a committed notification to every subscriber and wake waiting workers."""
        self.work_available.set()
        for subscriber in list(self.subscribers):
            subscriber(channel, payload)

    def reset(self) -> None:
        """Forget everything (keeps subscribers): for tests and demos."""
        for table in (
            self.workflows,
            self.versions,
            self.executions,
            self.leases,
            self.node_runs,
            self.events,
            self.signals,
            self.schedules,
            self.triggers,
            self.trigger_deliveries,
            self.idempotency,
            self.workspaces,
            self.tokens,
            self.secrets,
            self.step_failures,
            self.items,
            self.items_of,
            self.slots,
            self.rate_windows,
            self.node_kinds,
            self.users,
            self.memberships,
            self.invitations,
            self.sessions,
            self.audit,
        ):
            table.clear()

    def event_log(self, execution_id: str) -> list[StoredEvent]:
        """Inspection helper: an execution's history."""
        return list(self.events.get(execution_id, []))
