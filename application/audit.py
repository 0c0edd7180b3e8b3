"""The audit log: who changed what in a workspace, and when.

Every change made through the API or the console adds one `AuditEntry` in the same unit of
work as the change itself, so neither can land without the other. An entry names its
actor (a token today, a person later, or the system), the action, the object, and
details that hold ids, names, versions and counts only: never a secret's value, a
token's value, or a run's input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from application.ports.unit_of_work import UnitOfWork


class ActorKind(StrEnum):
    """What kind of caller made a change."""

    TOKEN = "token"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who made a change: a token (its id and name, never its value), a person (their user
    id and display name), or the
    system itself (a webhook delivery, the CLI on the database)."""

    kind: ActorKind
    id: str
    name: str

    @classmethod
    def token(cls, token_id: str, name: str) -> Actor:
        return cls(ActorKind.TOKEN, token_id, name)

    @classmethod
    def user(cls, user_id: str, name: str) -> Actor:
        return cls(ActorKind.USER, user_id, name)

    @classmethod
    def system(cls, id: str = "system", name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, id, name)


SYSTEM = Actor.system()
"""The engine itself: the actor of changes no caller asked for."""
LOCAL_CLI = Actor.system("cli", "treadle CLI (on the database)")
"""The CLI talking straight to the database, where no token is presented."""


def webhook_actor(trigger_id: str, trigger_name: str) -> Actor:
    """The actor of a run a webhook delivery started: the trigger it came through."""
    return Actor.system(trigger_id, f"webhook {trigger_name}".strip())


class AuditAction(StrEnum):
    """What was done; `<object type>.<verb>`."""

    WORKFLOW_CREATED = "workflow.created"
    WORKFLOW_UPDATED = "workflow.updated"
    WORKFLOW_ARCHIVED = "workflow.archived"
    RUN_STARTED = "run.started"
    RUNS_STARTED = "runs.started"
    EXECUTION_CANCELLED = "execution.cancelled"
    EXECUTION_RETRIED = "execution.retried"
    EXECUTION_RERUN = "execution.rerun"
    SIGNAL_SENT = "signal.sent"
    SECRET_CREATED = "secret.created"
    SECRET_ROTATED = "secret.rotated"
    SECRET_DELETED = "secret.deleted"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    SCHEDULE_CREATED = "schedule.created"
    SCHEDULE_UPDATED = "schedule.updated"
    SCHEDULE_ENABLED = "schedule.enabled"
    SCHEDULE_DISABLED = "schedule.disabled"
    SCHEDULE_DELETED = "schedule.deleted"
    TRIGGER_CREATED = "trigger.created"
    TRIGGER_UPDATED = "trigger.updated"
    TRIGGER_ENABLED = "trigger.enabled"
    TRIGGER_DISABLED = "trigger.disabled"
    TRIGGER_DELETED = "trigger.deleted"
    MEMBER_INVITED = "member.invited"
    INVITATION_CANCELLED = "invitation.cancelled"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    RETENTION_UPDATED = "retention.updated"


@dataclass(frozen=True)
class AuditEntry:
    """One change: who, when, what, to which object. `id` is given by the store (it orders
    entries made at the same instant); an entry not stored yet has none."""

    workspace_id: str
    at: datetime
    actor: Actor
    action: str
    object_type: str
    object_id: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: each given field must match (`since` inclusive, `until`
    exclusive)."""

    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_entry(
    workspace_id: str,
    at: datetime,
    actor: Actor,
    action: AuditAction,
    object_id: str | None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """The entry for `action` on an object, its type read from the action's name."""
    object_type = action.value.split(".", 1)[0]
    if object_type == "runs":
        object_type = "workflow"  # a bulk start is recorded on its workflow
    elif object_type == "member" and action is AuditAction.MEMBER_INVITED:
        object_type = "invitation"  # recorded on the invitation, whose id it names
    elif object_type in ("run", "signal"):
        object_type = "execution"  # on the execution it started or signalled
    return AuditEntry(workspace_id, at, actor, action.value, object_type, object_id, details or {})


def with_started(entry: AuditEntry, execution_ids: Sequence[str]) -> AuditEntry:
    """A bulk start's entry naming the executions it stored (their count and ids)."""
    details = {**entry.details, "count": len(execution_ids), "execution_ids": list(execution_ids)}
    return replace(entry, details=details)


async def record_change(
    uow: UnitOfWork,
    workspace_id: str,
    at: datetime,
    actor: Actor,
    action: AuditAction,
    object_id: str | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add the entry for a change to the unit of work that makes the change."""
    await uow.audit.add(audit_entry(workspace_id, at, actor, action, object_id, details))
