"""Cron arithmetic with time zones (croniter), answered in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def is_valid_cron(expression: str) -> bool:
    return bool(croniter.is_valid(expression))


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def next_fire_after(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    following: datetime = croniter(expression, local).get_next(datetime)
    return following.astimezone(UTC)
