"""The retention policy repository port: each workspace's policy, stored or default."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from application.audit import AuditEntry
from domain.retention import RetentionPolicy


class RetentionPolicies(Protocol):
    async def get(self, workspace_id: str) -> RetentionPolicy | None:
        """The workspace's stored policy; None when it never set one (the defaults apply)."""
        ...

    async def put(
        self,
        workspace_id: str,
        policy: RetentionPolicy,
        at: datetime,
        change: AuditEntry | None = None,
    ) -> None:
        """Store the workspace's policy, replacing any it had, and `change` (its audit
        entry) in the same transaction."""
        ...

    async def list_all(self) -> dict[str, RetentionPolicy]:
        """Every workspace the storage knows with the policy that applies to it: its own,
        or the defaults."""
        ...
