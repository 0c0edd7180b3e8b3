"""Bodies for the workspace's retention policy."""

from __future__ import annotations

from domain.retention import (
    DEFAULT_AUDIT_DAYS,
    DEFAULT_FAILED_DAYS,
    DEFAULT_FINISHED_DAYS,
    RetentionPolicy,
)
from entrypoints.api.schemas.common import Body, Out


class RetentionPut(Body):
    """The whole policy: a field left out takes its default (a PUT replaces)."""

    keep_finished_days: int = DEFAULT_FINISHED_DAYS
    """Days a finished execution is kept (1-3650)."""
    keep_failed_days: int = DEFAULT_FAILED_DAYS
    """Days a failed, timed out or cancelled execution is kept (1-3650)."""
    keep_succeeded_hours: int | None = None
    """When set, hours a successful execution is kept (1 to keep_finished_days x 24)."""
    keep_audit_days: int = DEFAULT_AUDIT_DAYS
    """Days an audit entry is kept (7-3650)."""

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            keep_finished_days=self.keep_finished_days,
            keep_failed_days=self.keep_failed_days,
            keep_succeeded_hours=self.keep_succeeded_hours,
            keep_audit_days=self.keep_audit_days,
        )


class RetentionOut(Out):
    keep_finished_days: int
    keep_failed_days: int
    keep_succeeded_hours: int | None
    keep_audit_days: int

    @classmethod
    def of(cls, policy: RetentionPolicy) -> RetentionOut:
        return cls(
            keep_finished_days=policy.keep_finished_days,
            keep_failed_days=policy.keep_failed_days,
            keep_succeeded_hours=policy.keep_succeeded_hours,
            keep_audit_days=policy.keep_audit_days,
        )
