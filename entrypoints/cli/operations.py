"""The seam between the management commands and where they act: the database
(`DATABASE_URL`, as the API and workers do) or a Treadle server's HTTP API (`TREADLE_URL`
and `TREADLE_TOKEN`, or `treadle --url ... --token ...`).

The choice is made once per invocation, by `treadle`'s callback; each command asks
`operations()` for the implementation and prints the plain views it answers. Both
implementations are imported only when a command needs one, so `treadle --help` loads
neither the engine nor the HTTP client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.retention import RetentionPolicy
from entrypoints.cli.audit_views import AuditQuery, AuditRow
from entrypoints.cli.member_views import InvitationRow, MemberRow, WhoAmI
from entrypoints.cli.views import (
    Applied,
    Checked,
    DeliveryRow,
    EventRow,
    ExecutionRow,
    ExecutionView,
    KindRow,
    NewToken,
    RunRequest,
    ScheduleRow,
    SecretRow,
    StartedRuns,
    TokenRow,
    TriggerRow,
    WorkflowRow,
)


@dataclass(frozen=True)
class Remote:
    """A Treadle server and the bearer token to use on it (an API token, or a person's JWT
    with the workspace they act in when they belong to several)."""

    url: str
    token: str
    workspace: str | None = None


class Operations(Protocol):
    """What `workflows`, `run`, `run-many`, `executions` and `tokens` do, wherever they do
    it. `workspace` is the `--workspace` option; over the API the token's workspace is used
    instead."""

    def check_workflow(self, workspace: str, name: str, document: dict[str, Any]) -> Checked:
        """The save checks of a workflow file, as the server runs them (the node kinds its
        workers have, the workflows and secrets it names); stores nothing."""
        ...

    def apply_workflow(
        self, workspace: str, name: str, description: str | None, source: str
    ) -> Applied:
        """Store a workflow file's whole text as the source of the workflow's next version
        (the server reads the definition from it); no version when nothing changed."""
        ...

    def list_node_kinds(self) -> list[KindRow]:
        """The kinds workflows can use: built-in ones, then the installed ones."""
        ...

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

    def run_many(
        self,
        workspace: str,
        workflow: str,
        runs: list[RunRequest],
        started: Callable[[StartedRuns], None],
    ) -> None:
        """Start the runs in transactions of up to `MAX_RUNS`, in order, calling `started`
        after each one."""
        ...

    def watch(self, workspace: str, execution_id: str) -> ExecutionRow:
        """Show the execution's nodes live until it ends; answer its last state."""
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

    def create_token(self, workspace: str, name: str, role: str) -> NewToken:
        """A token of the workspace (made if missing, in the database mode)."""
        ...

    def list_tokens(self, workspace: str) -> list[TokenRow]: ...

    def revoke_token(self, workspace: str, token_id: str) -> str:
        """Revoke the token; answer its id."""
        ...

    def list_members(self, workspace: str) -> list[MemberRow]: ...

    def list_invitations(self, workspace: str) -> list[InvitationRow]:
        """Pending invitations (an admin's to see, over the API)."""
        ...

    def invite(self, workspace: str, email: str, role: str) -> InvitationRow:
        """Invite the email (replacing its pending invitation, if any)."""
        ...

    def cancel_invitation(self, workspace: str, invitation_id: str) -> None: ...

    def change_role(self, workspace: str, user_id: str, role: str) -> MemberRow:
        """Refused for the workspace's last admin."""
        ...

    def remove_member(self, workspace: str, user_id: str) -> None:
        """Refused for the workspace's last admin."""
        ...

    def list_audit(self, workspace: str, query: AuditQuery) -> list[AuditRow]:
        """The workspace's audit entries matching `query`, newest first (an admin token's
        over the API)."""
        ...

    def get_retention(self, workspace: str) -> RetentionPolicy:
        """The workspace's retention policy (the defaults until one is set)."""
        ...

    def set_retention(self, workspace: str, policy: RetentionPolicy) -> RetentionPolicy:
        """Replace the workspace's retention policy; an error names every bad value."""
        ...


class RemoteOperations(Operations, Protocol):
    """What only the API mode offers: secrets, schedules and webhook triggers (admin and
    editor tokens), and the token's own workspace."""

    def workspace_name(self) -> str:
        """The name of the workspace the token belongs to."""
        ...

    def whoami(self) -> WhoAmI:
        """Who the token (or person) in use is, where, and with which role."""
        ...

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

    def list_triggers(self, workflow: str | None) -> list[TriggerRow]: ...

    def get_trigger(self, trigger_id: str) -> TriggerRow: ...

    def create_trigger(self, workflow: str, settings: dict[str, Any]) -> TriggerRow:
        """`settings` are the API's create fields besides the workflow."""
        ...

    def update_trigger(self, trigger_id: str, changes: dict[str, Any]) -> TriggerRow: ...

    def switch_trigger(self, trigger_id: str, enabled: bool) -> TriggerRow: ...

    def delete_trigger(self, trigger_id: str) -> None: ...

    def list_deliveries(self, trigger_id: str, limit: int) -> list[DeliveryRow]: ...


_remote: Remote | None = None


def choose(url: str | None, token: str | None) -> None:
    """Set the mode of this invocation: the API at `url` when given, else the database."""
    global _remote
    from entrypoints.cli.common import fail

    if url and not token:
        fail(
            "--url (TREADLE_URL) needs a token too: --token or TREADLE_TOKEN. The first token"
            " is made on the database: `treadle tokens create` where DATABASE_URL is set and"
            " TREADLE_URL is not",
            2,
        )
    # A person's JWT names its workspace with TREADLE_WORKSPACE. An API token has its own,
    # and for it the variable may be meant for the database mode: it is not sent.
    from application.use_cases.tokens import TOKEN_PREFIX

    person = bool(token) and not str(token).startswith(TOKEN_PREFIX)
    workspace = (os.environ.get("TREADLE_WORKSPACE") or None) if person else None
    _remote = Remote(url, token, workspace) if url and token else None


def remote() -> Remote | None:
    return _remote


def check_workspace(name: str) -> None:
    """Over the API the token decides the workspace: a `--workspace` given on the command
    line must name the token's, else the command stops before acting anywhere else."""
    from entrypoints.cli.common import fail

    if _remote is None:
        return
    from entrypoints.cli.remote_ops import ApiOperations

    token_workspace = ApiOperations(_remote).workspace_name()
    if name != token_workspace:
        fail(
            f"--workspace {name}: the token belongs to workspace {token_workspace}, and over"
            " the API the token decides the workspace (leave out --workspace, or use a token"
            f" of {name})",
            2,
        )


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
