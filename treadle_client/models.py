"""What the API answers, as typed values.

Every model is a `msgspec.Struct` decoded strictly from the response (a wrong type is an
error, not a silently wrong value) while unknown fields are ignored, so a newer server
that adds a field does not break an older client. The test suite checks each model
against the server's OpenAPI document, field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

Moment = Annotated[datetime, msgspec.Meta(tz=True)]
"""A time with its offset: every time the API answers is one (UTC)."""


class Model(msgspec.Struct, kw_only=True):
    """A value the API answered."""


class Problem(Model):
    """Something a save check found: a stable code, where it is, what to do."""

    code: str
    path: str
    message: str


class Workflow(Model):
    id: str
    name: str
    description: str
    latest_version: int
    archived: bool
    created_at: Moment
    updated_at: Moment


class WorkflowDetail(Workflow):
    """A workflow with one version of its definition (the latest unless asked)."""

    version: int
    definition: dict[str, Any]
    source: str | None = None
    """The JSON or YAML text the version was saved from, as written; None when it was
    saved as a document."""
    source_format: str | None = None
    """`json` or `yaml`, with `source`."""


class WorkflowSaved(WorkflowDetail, kw_only=True):
    """A workflow just created or updated, with what its checks warn about; `unchanged`
    when the save matched the latest version and made none."""

    warnings: list[Problem]
    unchanged: bool = False


class WorkflowCheck(Model):
    valid: bool
    problems: list[Problem]
    warnings: list[Problem]


class WorkflowPage(Model):
    items: list[Workflow]
    next_cursor: str | None


class WorkflowVersion(Model):
    version: int
    created_at: Moment
    definition: dict[str, Any]
    source: str | None = None
    source_format: str | None = None


class Run(Model):
    """A run just asked for: `created` is false when an earlier request with the same
    idempotency key made the execution."""

    execution_id: str
    workflow_id: str
    version: int
    status: str
    created: bool


class BulkRuns(Model):
    runs: list[Run]
    """One per run asked for, in the same order."""
    created: int


class Execution(Model):
    id: str
    workflow_id: str
    version: int
    status: str
    input: Any
    output: Any
    error: dict[str, Any] | None
    created_at: Moment
    started_at: Moment | None
    finished_at: Moment | None
    wake_at: Moment | None
    deadline_at: Moment | None
    cancel_requested: bool
    parent_execution_id: str | None
    parent_node_id: str | None
    item_index: int | None
    schedule_id: str | None
    scheduled_for: Moment | None
    rerun_of: str | None
    priority: int
    queue: str
    waiting_reason: dict[str, Any] | None
    waiting_message: str | None
    seq: int


class NodeRun(Model):
    node_id: str
    status: str
    attempt: int
    input: Any
    output: Any
    error: dict[str, Any] | None
    label: str | None
    started_at: Moment | None
    finished_at: Moment | None
    wake_at: Moment | None
    waiting_for: dict[str, Any] | None
    skip_reason: str | None


class ExecutionDetail(Execution):
    node_runs: list[NodeRun]


class ExecutionPage(Model):
    items: list[Execution]
    next_cursor: str | None


class Event(Model):
    seq: int
    type: str
    node_id: str | None
    attempt: int | None
    payload: dict[str, Any]
    created_at: Moment


class EventPage(Model):
    items: list[Event]
    next_after: int | None
    """Pass as `after` to read the next page; None when this page reached the end."""


class Signal(Model):
    id: str
    name: str
    payload: Any
    created_at: Moment
    consumed_by: str | None
    consumed_at: Moment | None


class Schedule(Model):
    id: str
    workflow_id: str
    cron: str
    timezone: str
    input: Any
    enabled: bool
    overlap: str
    catch_up: bool
    next_fire_at: Moment | None
    last_fired_at: Moment | None
    last_execution_id: str | None
    created_at: Moment


class Secret(Model):
    """A secret's name and dates: its value never comes back."""

    name: str
    created_at: Moment
    updated_at: Moment


class Token(Model):
    id: str
    name: str
    role: str
    created_at: Moment
    revoked_at: Moment | None
    created_by: str | None = None
    """The id of the user who created it; None when the CLI or a token did."""


class TokenCreated(Token, kw_only=True):
    token: str
    """The bearer token: shown this once."""


class AuditActor(Model):
    """Who made a change: `kind` is `token` (by id and name, never its value), `user` or
    `system`."""

    kind: str
    id: str
    name: str


class AuditEntry(Model):
    """One change in the workspace: who, when, what (`action`, e.g. `execution.cancelled`)
    and to which object; `details` hold ids, names, versions and counts only."""

    id: int
    at: Moment
    actor: AuditActor
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]


class AuditPage(Model):
    items: list[AuditEntry]
    next_cursor: str | None


class Workspace(Model):
    id: str
    name: str
    role: str
    """The role of the token that asked."""


class Member(Model):
    """A person in the workspace and their role; `added_by` names who invited them."""

    user_id: str
    email: str | None
    display_name: str
    role: str
    joined_at: Moment
    added_by: str


class Invitation(Model):
    """A membership waiting for `email` to sign in for the first time."""

    id: str
    email: str
    role: str
    invited_by: str
    created_at: Moment


class Members(Model):
    members: list[Member]
    invitations: list[Invitation]
    """Pending invitations: only an admin sees them (empty for everyone else)."""


class WorkspaceRef(Model):
    id: str
    name: str


class TokenRef(Model):
    id: str
    name: str


class UserRef(Model):
    id: str
    email: str | None
    display_name: str


class WorkspaceRole(Model):
    """A workspace the caller may act in, and their role there."""

    id: str
    name: str
    role: str


class Me(Model):
    """Who is calling: an API token (`token`) or a person (`user`), acting in `workspace`
    with `role`; `workspaces` are every one they may act in (a token: its own)."""

    kind: str
    """`token` or `user`."""
    workspace: WorkspaceRef
    role: str
    token: TokenRef | None
    user: UserRef | None
    workspaces: list[WorkspaceRole]


class Retention(Model):
    """How long the workspace keeps its history: finished executions, failed ones (failed,
    timed out or cancelled), successful ones when a shorter span is set, audit entries."""

    keep_finished_days: int
    keep_failed_days: int
    keep_succeeded_hours: int | None
    keep_audit_days: int


class NodeKind(Model):
    """A node kind a workflow can use: built in, or added by an installed package."""

    kind: str
    title: str
    description: str
    builtin: bool
    config_schema: dict[str, Any] | None
    """The JSON Schema of its config (None where none is published)."""
    example: dict[str, Any] | None
    package: str | None
    last_seen_at: Moment | None
    """When a worker that has it last said so (None: built in, or no worker has it)."""


class Trigger(Model):
    id: str
    workflow_id: str
    name: str
    enabled: bool
    url: str
    verification: str
    has_secret: bool
    verify_header: str | None
    tolerance_seconds: int
    delivery_id_header: str | None
    delivery_id_path: str | None
    headers: list[str]
    input: Any
    respond: str
    respond_node: str | None
    wait_seconds: float
    max_body_bytes: int
    rate_limit: float
    created_at: Moment
    updated_at: Moment


class TriggerSaved(Trigger):
    secret: str | None = None
    """A secret the server made for the trigger: shown this once."""


class Delivery(Model):
    received_at: Moment
    status_code: int
    execution_id: str | None
    delivery_id: str | None
    error_code: str | None


class RunSpec(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One run of `run_many`: a single run's fields and its own idempotency key."""

    input: Any = None
    idempotency_key: str | None = None
    start_at: Moment | None = None
    priority: int | None = None
    version: int | None = None


class ExecutionChange(Model):
    """One change of an execution of the workspace, from `watch_workspace`: its status and
    last event's `seq` and `type` once the change committed."""

    execution_id: str
    status: str
    seq: int
    type: str
    event_id: str | None = None
    """The stream's id for this change: pass it as `last_event_id=` to resume after it."""


class ChangesMissed(Model):
    """From `watch_workspace`: the server could not replay the changes made while the
    stream was away (another API process, or too long ago); reload what you show."""
