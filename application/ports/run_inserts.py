"""The run-insert port: store a new run in one exchange with the database, if the workflow
it was checked against is still current.

Starting a run is the hottest write a user makes. A unit of work costs a transaction of
several round trips (look the workflow up, insert, notify, commit); this port lets an
adapter do it in one, with the workflow check inside the same statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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


class RunInserts(Protocol):
    async def insert_if_current(self, run: NewRun) -> bool:
        """Store the execution, one pending node run per node id and its events, and send
        the notifications, atomically; True when stored.

        False, with nothing written, unless the execution's workflow exists in its
        workspace, is not archived and its latest version is `run.latest_version`. Safe to
        call again with the same run: an execution already stored counts as stored.
        """
        ...
