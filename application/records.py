"""Records the application stores besides the domain's executions and node runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Workflow:
    id: str
    workspace_id: str
    name: str
    latest_version: int
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    description: str = ""


@dataclass(frozen=True)
class WorkflowVersion:
    """One immutable version: `document` is the normalised definition the engine runs;
    `source` is the text its author wrote (JSON or YAML, byte for byte, comments and all),
    None when the version was saved from a document rather than a text; `source_format`
    is "json" or "yaml" with it."""

    workflow_id: str
    version: int
    document: dict[str, Any]
    created_at: datetime
    source: str | None = None
    source_format: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    execution_id: str
    seq: int
    type: str
    node_id: str | None
    attempt: int | None
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Signal:
    id: str
    execution_id: str
    name: str
    payload: Any
    created_at: datetime
    consumed_by: str | None = None
    consumed_at: datetime | None = None


@dataclass(frozen=True)
class Schedule:
    id: str
    workspace_id: str
    workflow_id: str
    cron: str
    timezone: str
    input: Any
    enabled: bool
    next_fire_at: datetime | None
    created_at: datetime
    overlap: str = "allow"
    catch_up: bool = False
    last_fired_at: datetime | None = None
    last_execution_id: str | None = None


@dataclass(frozen=True)
class Lease:
    """A worker's claim on an execution; `token` fences every write made under it."""

    execution_id: str
    worker_id: str
    token: int
    expires_at: datetime
    cancel_requested: bool = False


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """A bearer token; only its hash is stored."""

    id: str
    workspace_id: str
    name: str
    role: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    created_by: str | None = None
    """The user who created it, when a person did (not the CLI or another token)."""


@dataclass(frozen=True)
class StoredSecret:
    """A secret's encrypted value; the plaintext never reaches storage."""

    workspace_id: str
    name: str
    ciphertext: bytes
    created_at: datetime
    updated_at: datetime
