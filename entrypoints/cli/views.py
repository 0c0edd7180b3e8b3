"""What the management commands print, the same whether the data came from the database
or from the API: plain values, no engine types, no client types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.problems import Problem


@dataclass(frozen=True)
class WorkflowRow:
    name: str
    id: str
    latest_version: int
    updated_at: datetime | None
    description: str


@dataclass(frozen=True)
class Checked:
    """What saving a workflow file would refuse (`problems`) or only warn about."""

    problems: list[Problem]
    warnings: list[Problem]


@dataclass(frozen=True)
class Applied:
    """A workflow file stored: as a new workflow (`created`), as its next version, or not
    at all when it equals the latest version (`unchanged`: `version` is that one)."""

    name: str
    id: str
    version: int
    created: bool
    unchanged: bool = False


@dataclass(frozen=True)
class ExecutionRow:
    id: str
    workflow_id: str
    version: int
    status: str
    created_at: datetime | None
    finished_at: datetime | None
    input: Any
    output: Any
    error: dict[str, Any] | None
    cancel_requested: bool = False


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    kind: str
    status: str
    attempt: int
    detail: str


@dataclass(frozen=True)
class ExecutionView:
    """An execution and its nodes, in definition order."""

    execution: ExecutionRow
    nodes: list[NodeRow]


@dataclass(frozen=True)
class EventRow:
    seq: int
    created_at: datetime | None
    type: str
    node_id: str | None
    attempt: int | None


@dataclass(frozen=True)
class KindRow:
    """A node kind: built in, or from a package, and when a worker that has it was seen."""

    kind: str
    title: str
    builtin: bool
    package: str | None
    last_seen_at: datetime | None


@dataclass(frozen=True)
class SecretRow:
    name: str
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    workflow_id: str
    cron: str
    timezone: str
    enabled: bool
    next_fire_at: datetime | None
    last_fired_at: datetime | None


def error_line(error: Any) -> str:
    """`kind: message` of a stored node or execution error."""
    return f"{error.get('kind', 'error')}: {error.get('message', '')}"


def node_detail(
    error: Any, status: str, waiting_for: dict[str, Any] | None, skip_reason: str | None
) -> str:
    """The one-line detail of a node in the live table."""
    if error:
        return error_line(error)[:120]
    if status == "waiting" and waiting_for:
        return ", ".join(f"{key}={value}" for key, value in waiting_for.items())[:120]
    if skip_reason:
        return skip_reason
    return ""


@dataclass(frozen=True)
class RunRequest:
    """One run of `run-many`: its input and, with `--key-prefix`, its idempotency key."""

    input: Any
    idempotency_key: str | None


@dataclass(frozen=True)
class StartedRuns:
    """One transaction of `run-many`: the executions' ids in the order asked for, and how
    many of them it created (the others had been started before under their keys)."""

    execution_ids: list[str]
    created: int


@dataclass(frozen=True)
class TokenRow:
    id: str
    name: str
    role: str
    created_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    """A token just created, with the bearer secret shown this once."""

    token: TokenRow
    workspace: str
    secret: str


@dataclass(frozen=True)
class TriggerRow:
    """A webhook trigger; `secret` is set only in the answer that made it (shown once)."""

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
    created_at: datetime | None
    updated_at: datetime | None
    secret: str | None = None


@dataclass(frozen=True)
class DeliveryRow:
    received_at: datetime | None
    status_code: int
    execution_id: str | None
    delivery_id: str | None
    error_code: str | None
