"""How long a workspace keeps its history: the retention policy and its rules.

Finished executions are kept `keep_finished_days`; those that did not succeed (failed,
timed out or cancelled) `keep_failed_days`; successful ones, when `keep_succeeded_hours`
is set, only that many hours (a shorter span for the bulk of routine runs). Audit
entries are kept `keep_audit_days`. A workspace that never set a policy has the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.status import ExecutionStatus

DEFAULT_FINISHED_DAYS = 30
DEFAULT_FAILED_DAYS = 30
DEFAULT_AUDIT_DAYS = 365
MAX_DAYS = 3650
"""Ten years: longer is keeping forever, which is what not pruning at all would do."""
MIN_AUDIT_DAYS = 7
"""An audit trail shorter than a week could not answer "who changed this last Friday"."""

SUCCEEDED = frozenset({ExecutionStatus.COMPLETED})
FAILED = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CANCELLED})


@dataclass(frozen=True)
class PolicyProblem:
    """One value of a policy that is out of bounds: which field, and why."""

    field: str
    message: str


@dataclass(frozen=True)
class ExpiryCutoffs:
    """The instants before which finished executions of each class expire."""

    succeeded_before: datetime
    failed_before: datetime

    @classmethod
    def uniform(cls, finished_before: datetime) -> ExpiryCutoffs:
        """One cutoff for every finished execution (`treadle prune --older-than`)."""
        return cls(finished_before, finished_before)

    @property
    def latest(self) -> datetime:
        """The later of the two: nothing that started after it can have expired."""
        return max(self.succeeded_before, self.failed_before)

    def cutoff_for(self, status: ExecutionStatus) -> datetime | None:
        """The cutoff of an execution in `status`; None while it has not finished."""
        if status in SUCCEEDED:
            return self.succeeded_before
        if status in FAILED:
            return self.failed_before
        return None

    def expired(self, status: ExecutionStatus, finished_at: datetime | None) -> bool:
        """Whether an execution that ended in `status` at `finished_at` is past its cutoff."""
        cutoff = self.cutoff_for(status)
        return cutoff is not None and finished_at is not None and finished_at < cutoff


@dataclass(frozen=True)
class RetentionPolicy:
    """A workspace's retention: spans in whole days (hours for successful runs)."""

    keep_finished_days: int = DEFAULT_FINISHED_DAYS
    keep_failed_days: int = DEFAULT_FAILED_DAYS
    keep_succeeded_hours: int | None = None
    keep_audit_days: int = DEFAULT_AUDIT_DAYS

    def problems(self) -> list[PolicyProblem]:
        """Every value out of bounds (empty when the policy is acceptable)."""
        found = [
            *_days_problems("keep_finished_days", self.keep_finished_days, 1),
            *_days_problems("keep_failed_days", self.keep_failed_days, 1),
            *_days_problems("keep_audit_days", self.keep_audit_days, MIN_AUDIT_DAYS),
        ]
        hours = self.keep_succeeded_hours
        if hours is not None and not 1 <= hours <= self.keep_finished_days * 24:
            found.append(
                PolicyProblem(
                    "keep_succeeded_hours",
                    f"must be between 1 and {self.keep_finished_days * 24} (keep_finished_days"
                    f" in hours: successful runs cannot be kept longer than finished ones),"
                    f" or null; got {hours}",
                )
            )
        return found

    def cutoffs(self, now: datetime) -> ExpiryCutoffs:
        """When executions finished before which instant expire, seen at `now`."""
        succeeded_for = (
            timedelta(hours=self.keep_succeeded_hours)
            if self.keep_succeeded_hours is not None
            else timedelta(days=self.keep_finished_days)
        )
        return ExpiryCutoffs(
            succeeded_before=now - succeeded_for,
            failed_before=now - timedelta(days=self.keep_failed_days),
        )

    def audit_cutoff(self, now: datetime) -> datetime:
        """Audit entries made before this instant expire."""
        return now - timedelta(days=self.keep_audit_days)


DEFAULT_POLICY = RetentionPolicy()


def _days_problems(name: str, value: int, minimum: int) -> list[PolicyProblem]:
    if minimum <= value <= MAX_DAYS:
        return []
    return [PolicyProblem(name, f"must be between {minimum} and {MAX_DAYS} days; got {value}")]
