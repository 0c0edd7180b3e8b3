"""The seam between the management commands and where they act: the database
(`DATABASE_URL`, as the API and workers do) or a Treadle server's HTTP API (`TREADLE_URL`
and `TREADLE_TOKEN`, or `treadle --url ... --token ...`).

The choice is made once per invocation, by `treadle`'s callback; each command asks
`operations()` for the implementation and prints the plain views it answers. Both
implementations are imported only when a command needs one, so `treadle --help` loads
neither the engine nor the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from entrypoints.cli.views import (
    Applied,
    EventRow,
    ExecutionRow,
    ExecutionView,
    ScheduleRow,
    SecretRow,
    WorkflowRow,
)


@dataclass(frozen=True)
class Remote:
    """A Treadle server and the bearer token to use on it."""

    url: str
    token: str


class Operations(Protocol):
    """What `workflows`, `run` and `executions` do, wherever they do it. `workspace` is the
    `--workspace` option; over the API the token's workspace is used instead."""

    def apply_workflow(
        self, workspace: str, name: str, description: str | None, document: dict[str, Any]
    ) -> Applied: ...

    def list_workflows(self, workspace: str, limit: int) -> list[WorkflowRow]: ...

    def run(
        self,
        workspace: str,
        workflow: str,
        payload: Any,
        idempotency_key: str | None,
        watch: bool,
        started: Callable[[str], None],
    ) -> ExecutionRow:
        """Start an execution (calling `started` with its id); with `watch`, show its nodes
        live until it ends and answer its last state."""
        ...

    def list_executions(
        self, workspace: str, workflow: str | None, statuses: list[str], limit: int
    ) -> list[ExecutionRow]: ...

    def show_execution(
        self, workspace: str, execution_id: str, events: bool
    ) -> tuple[ExecutionView, list[EventRow]]: ...

    def cancel(self, workspace: str, execution_id: str) -> ExecutionRow: ...

    def retry(self, workspace: str, execution_id: str) -> ExecutionRow: ...

    def rerun(self, workspace: str, execution_id: str) -> ExecutionRow: ...

    def signal(self, workspace: str, execution_id: str, name: str, payload: Any) -> str: ...


class RemoteOperations(Operations, Protocol):
    """What only the API mode offers: secrets and schedules (admin and editor tokens)."""

    def list_secrets(self) -> list[SecretRow]: ...

    def set_secret(self, name: str, value: str) -> bool:
        """Store the secret; True when it was new, False when its value was replaced."""
        ...

    def delete_secret(self, name: str) -> None: ...

    def list_schedules(self, workflow: str | None) -> list[ScheduleRow]: ...

    def create_schedule(
        self, workflow: str, cron: str, timezone: str, payload: Any, enabled: bool
    ) -> ScheduleRow: ...

    def switch_schedule(self, schedule_id: str, enabled: bool) -> ScheduleRow: ...

    def delete_schedule(self, schedule_id: str) -> None: ...


_remote: Remote | None = None


def choose(url: str | None, token: str | None) -> None:
    """Set the mode of this invocation: the API at `url` when given, else the database."""
    global _remote
    from entrypoints.cli.common import fail

    if url and not token:
        fail("--url (TREADLE_URL) needs a token too: --token or TREADLE_TOKEN", 2)
    _remote = Remote(url, token) if url and token else None


def remote() -> Remote | None:
    return _remote


def operations() -> Operations:
    """The implementation this invocation uses."""
    if _remote is not None:
        from entrypoints.cli.remote_ops import ApiOperations

        return ApiOperations(_remote)
    from entrypoints.cli.local_ops import DatabaseOperations

    return DatabaseOperations()


def remote_operations(command: str) -> RemoteOperations:
    """The API implementation, for the commands that have no database mode."""
    from entrypoints.cli.common import fail

    if _remote is None:
        fail(f"`treadle {command}` talks to a server: set TREADLE_URL and TREADLE_TOKEN", 2)
    from entrypoints.cli.remote_ops import ApiOperations

    return ApiOperations(_remote)
