"""Bodies for webhook triggers: what a person sets, and what is shown (never the secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from application.triggers.records import Trigger, TriggerDelivery
from application.triggers.rules import MAX_BODY_BYTES, MAX_WAIT_SECONDS
from entrypoints.api.schemas.common import Body, Out

Verification = Literal["none", "header_secret", "github", "stripe", "hmac_sha256"]
Respond = Literal["accepted", "wait"]
HeaderName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
TriggerName = Annotated[str, msgspec.Meta(max_length=200)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
BodyPath = Annotated[str, msgspec.Meta(min_length=1, max_length=400)]
Headers = Annotated[list[HeaderName], msgspec.Meta(max_length=50)]
NodeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
WaitSeconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT_SECONDS)]
BodyBytes = Annotated[int, msgspec.Meta(ge=1, le=MAX_BODY_BYTES)]
Tolerance = Annotated[int, msgspec.Meta(ge=1, le=86400)]
Rate = Annotated[float, msgspec.Meta(gt=0, le=10000)]


class TriggerCreate(Body):
    workflow_id: str
    name: TriggerName = ""
    enabled: bool = True
    verification: Verification = "none"
    secret: Secret | None = None
    """The shared secret; left out, one is made and shown once in the answer."""
    verify_header: HeaderName | None = None
    tolerance_seconds: Tolerance = 300
    delivery_id_header: HeaderName | None = None
    delivery_id_path: BodyPath | None = None
    headers: Headers = []
    input: Any = None
    """A template over `body`, `headers` and `query`; null: `{"body", "headers", "query"}`."""
    respond: Respond = "accepted"
    respond_node: NodeId | None = None
    wait_seconds: WaitSeconds = 10.0
    max_body_bytes: BodyBytes = 1024 * 1024
    rate_limit: Rate = 10.0


class TriggerUpdate(Body):
    """Only the fields present change; `secret` replaces the secret."""

    name: TriggerName | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    verification: Verification | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    verify_header: HeaderName | UnsetType | None = UNSET
    tolerance_seconds: Tolerance | UnsetType = UNSET
    delivery_id_header: HeaderName | UnsetType | None = UNSET
    delivery_id_path: BodyPath | UnsetType | None = UNSET
    headers: Headers | UnsetType = UNSET
    input: Any | UnsetType = UNSET
    respond: Respond | UnsetType = UNSET
    respond_node: NodeId | UnsetType | None = UNSET
    wait_seconds: WaitSeconds | UnsetType = UNSET
    max_body_bytes: BodyBytes | UnsetType = UNSET
    rate_limit: Rate | UnsetType = UNSET


class TriggerOut(Out):
    id: str
    workflow_id: str
    name: str
    enabled: bool
    url: str
    """Where senders POST; the id in it is the URL's only secret."""
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
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, trigger: Trigger, base_url: str) -> TriggerOut:
        return cls(
            id=trigger.id,
            workflow_id=trigger.workflow_id,
            name=trigger.name,
            enabled=trigger.enabled,
            url=f"{base_url.rstrip('/')}/hooks/{trigger.id}",
            verification=trigger.verification,
            has_secret=trigger.secret_ciphertext is not None,
            verify_header=trigger.verify_header,
            tolerance_seconds=trigger.tolerance_seconds,
            delivery_id_header=trigger.delivery_id_header,
            delivery_id_path=trigger.delivery_id_path,
            headers=list(trigger.headers),
            input=trigger.input_template,
            respond=trigger.respond,
            respond_node=trigger.respond_node,
            wait_seconds=trigger.wait_seconds,
            max_body_bytes=trigger.max_body_bytes,
            rate_limit=trigger.rate_limit,
            created_at=trigger.created_at,
            updated_at=trigger.updated_at,
        )


class TriggerSaved(TriggerOut):
    secret: str | None = None
    """A secret made for the trigger: shown this once, only its ciphertext is kept."""


class DeliveryOut(Out):
    received_at: datetime
    status_code: int
    execution_id: str | None
    delivery_id: str | None
    error_code: str | None

    @classmethod
    def of(cls, delivery: TriggerDelivery) -> DeliveryOut:
        return cls(
            received_at=delivery.received_at,
            status_code=delivery.status_code,
            execution_id=delivery.execution_id,
            delivery_id=delivery.delivery_id,
            error_code=delivery.error_code,
        )


class HookAcceptedOut(Out):
    execution_id: str
