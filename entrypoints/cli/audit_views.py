"""What `treadle audit` asks for and prints, the same from the database and over the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditQuery:
    """Which audit entries to list: each given field must match."""

    action: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    limit: int = 50


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as the CLI shows it."""

    at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
