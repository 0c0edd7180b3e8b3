"""What a webhook trigger stores: its settings, and the deliveries it answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Trigger:
    """A public URL, `POST /hooks/{id}`, that starts a run of `workflow_id`.

    The id is the only thing that locates a trigger, and at least 128 random bits, so the
    URL cannot be guessed. The verification secret is stored encrypted only.
    """

    id: str
    workspace_id: str
    workflow_id: str
    name: str
    enabled: bool
    verification: str
    """`none`, `header_secret`, `github`, `stripe` or `hmac_sha256` (see `rules`)."""
    secret_ciphertext: bytes | None
    created_at: datetime
    updated_at: datetime
    verify_header: str | None = None
    """The header with the shared secret (`header_secret`) or signature (`hmac_sha256`)."""
    tolerance_seconds: int = 300
    """How far a Stripe signature's timestamp may be from now."""
    delivery_id_header: str | None = None
    delivery_id_path: str | None = None
    """Where a delivery's id is read: a header, or a dotted path into the JSON body."""
    headers: tuple[str, ...] = ()
    """Request headers (lower-cased names) passed to the run's input."""
    input_template: Any = None
    """Maps `body`, `headers` and `query` to the run's input; None: the default shape."""
    respond: str = "accepted"
    """`accepted`: answer 202 at once; `wait`: wait for `respond_node` (or the end)."""
    respond_node: str | None = None
    wait_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    rate_limit: float = 10.0
    """Requests per second this trigger accepts in one API process (a token bucket)."""


@dataclass(frozen=True)
class TriggerDelivery:
    """One request a trigger answered (never its body): when, with what status, and the
    execution it started or found again."""

    trigger_id: str
    received_at: datetime
    status_code: int
    execution_id: str | None = None
    delivery_id: str | None = None
    error_code: str | None = None
