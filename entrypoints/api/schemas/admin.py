"""Bodies for schedules, secrets, tokens and the caller's workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from application.records import ApiToken, Schedule
from application.use_cases.secrets import SecretInfo
from entrypoints.api.schemas.common import Body, Name, Out

Cron = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Overlap = Literal["allow", "skip"]
RoleName = Literal["admin", "editor", "viewer"]
SecretValue = Annotated[str, msgspec.Meta(max_length=65536)]


class ScheduleCreate(Body):
    workflow_id: str
    cron: Cron
    timezone: TimeZone = "UTC"
    input: Any = None
    enabled: bool = True
    overlap: Overlap = "allow"
    """`skip` leaves a fire time out while an earlier run of the schedule is still going."""
    catch_up: bool = False
    """Run fire times missed while no worker ran, instead of only the latest."""


class ScheduleUpdate(Body):
    """Only the fields present change."""

    cron: Cron | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    input: Any | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    overlap: Overlap | UnsetType = UNSET
    catch_up: bool | UnsetType = UNSET


class ScheduleOut(Out):
    id: str
    workflow_id: str
    cron: str
    timezone: str
    input: Any
    enabled: bool
    overlap: str
    catch_up: bool
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    last_execution_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls(
            id=schedule.id,
            workflow_id=schedule.workflow_id,
            cron=schedule.cron,
            timezone=schedule.timezone,
            input=schedule.input,
            enabled=schedule.enabled,
            overlap=schedule.overlap,
            catch_up=schedule.catch_up,
            next_fire_at=schedule.next_fire_at,
            last_fired_at=schedule.last_fired_at,
            last_execution_id=schedule.last_execution_id,
            created_at=schedule.created_at,
        )


class SecretCreate(Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: SecretValue


class SecretRotate(Body):
    value: SecretValue


class SecretOut(Out):
    """A secret's name and dates: its value is never returned."""

    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, info: SecretInfo) -> SecretOut:
        return cls(name=info.name, created_at=info.created_at, updated_at=info.updated_at)


class TokenCreate(Body):
    name: Name
    role: RoleName


class TokenOut(Out):
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None
    """The id of the user who created the token; null when the CLI or a token did."""

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=token.role,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            created_by=token.created_by,
        )


class TokenCreated(TokenOut):
    token: str
    """The bearer token: shown this once, only its hash is kept."""


class WorkspaceOut(Out):
    id: str
    name: str
    role: str
    """The role of the token that asked."""
