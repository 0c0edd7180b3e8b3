"""Bodies of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.audit import AuditEntry
from entrypoints.api.schemas.common import Out


class ActorOut(Out):
    """Who made a change: `kind` is token, user or system; a token by id and name."""

    kind: str
    id: str
    name: str


class AuditEntryOut(Out):
    id: int
    at: datetime
    actor: ActorOut
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        actor = entry.actor
        return cls(
            id=entry.id or 0,
            at=entry.at,
            actor=ActorOut(kind=actor.kind.value, id=actor.id, name=actor.name),
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            details=dict(entry.details),
        )


class AuditPage(Out):
    items: list[AuditEntryOut]
    next_cursor: str | None
