"""The run-insert port: store a new run in one exchange with the database, if the workflow
it was checked against is still current.

Starting a run is the hottest write a user makes. A unit of work costs a transaction of
several round trips (look the workflow up, insert, notify, commit); this port lets an
adapter do it in one, with the workflow check inside the same statement. Bulk runs (up to
a thousand at once) are stored in one transaction of a few multi-row statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from application.audit import AuditEntry
from domain.events import DomainEvent
from domain.execution import Execution


@dataclass(frozen=True)
class NewRun:
    """A pending execution ready to store, with what was checked to build it."""

    execution: Execution
    node_ids: Sequence[str]
    events: Sequence[DomainEvent]
    latest_version: int
    """The workflow's latest version when the request was checked: stored only if it is
    still that (a newer version or an archive sends the request the long way round)."""
    notifications: Sequence[tuple[str, Mapping[str, Any]]]
    """Sent when (and only if) the run is stored."""


@dataclass(frozen=True)
class KeyedRun:
    """A run of a batch, with the idempotency key it is stored under (if any)."""

    run: NewRun
    idempotency_key: str | None = None


@dataclass(frozen=True)
class StoredRun:
    """Where a run of a batch went: its own new execution (`created`), or the execution an
    earlier request made under the same idempotency key."""

    execution: Execution
    created: bool


def check_batch(runs: Sequence[KeyedRun]) -> None:
    """Raise ValueError unless the runs are of one workflow, checked against one latest
    version, with distinct keys (what `insert_all_if_current` takes)."""
    checked = {(k.run.execution.workflow_id, k.run.latest_version) for k in runs}
    workspaces = {k.run.execution.workspace_id for k in runs}
    if len(checked) > 1 or len(workspaces) > 1:
        raise ValueError("a batch of runs is of one workflow, checked at one version")
    keys = [k.idempotency_key for k in runs if k.idempotency_key is not None]
    if len(set(keys)) != len(keys):
        raise ValueError("the idempotency keys of a batch of runs must be distinct")


class RunInserts(Protocol):
    async def insert_if_current(self, run: NewRun, audit: AuditEntry | None = None) -> bool:
        """Store the execution, one pending node run per node id and its events, and send
        the notifications, atomically; True when stored. With `audit`, that entry is added
        to the audit log in the same transaction, when (and only when) this call stores it.

        False, with nothing written, unless the execution's workflow exists in its
        workspace, is not archived and its latest version is `run.latest_version`. Safe to
        call again with the same run: an execution already stored counts as stored.
        """
        ...

    async def insert_all_if_current(
        self, runs: Sequence[KeyedRun], audit: AuditEntry | None = None
    ) -> list[StoredRun] | None:
        """Store runs of one workflow, all checked against the same latest version, in one
        transaction: all of them or none. Each is stored as `insert_if_current` stores one,
        and its key (if any) is remembered with it. With `audit`, that entry is added in the
        same transaction when any run is stored, naming those runs (`with_started`).

        Answers, in order, where each run went: stored (`created`), or, when the workflow
        already has an execution under the run's key, that execution (the run is dropped).
        None, with nothing written, unless the workflow is current (as for one run). The
        keys in `runs` must be distinct. Raises `Conflict`, with nothing written, when a
        concurrent request takes one of the keys first: asked again, the key is found.
        """
        ...
