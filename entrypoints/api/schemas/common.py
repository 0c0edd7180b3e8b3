"""Shared base classes, constrained types and the error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: an unknown field is a 400, not silently ignored."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class ErrorDetail(Out):
    code: str
    message: str
    details: list[Any] = []


class ErrorBody(Out):
    """Every error the API answers has this shape; `code` is stable, `message` is for people."""

    error: ErrorDetail


def as_utc(moment: datetime | None) -> datetime | None:
    """Query parameters may come without an offset: read those as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
