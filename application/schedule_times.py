"""Cron arithmetic with time zones (croniter), answered in UTC.

A cron expression has five fields, or six with seconds last, or is one of the usual
shorthands (`@daily`, `@hourly`...); croniter also takes a seventh field (years), which
the API does not offer. An expression must fire at least once:
croniter gives up on one like `0 0 30 2 *` (30 February) after a bounded search.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

CRON_FIELD_COUNTS = (5, 6)
# The usual shorthands (Vixie cron's, which croniter reads too).
CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def is_valid_cron(expression: str) -> bool:
    shape_ok = (
        expression.strip().lower() in CRON_MACROS or len(expression.split()) in CRON_FIELD_COUNTS
    )
    return shape_ok and bool(croniter.is_valid(expression))


def cron_problem(expression: str, after: datetime) -> str | None:
    """Why `expression` cannot drive a schedule (not cron, or never fires), or None."""
    if not is_valid_cron(expression):
        return (
            f"{expression!r} is not a cron expression of five fields, or six with seconds "
            "last (like '*/5 * * * *'), or a shorthand such as '@daily'"
        )
    try:
        croniter(expression, after.astimezone(UTC)).get_next(datetime)
    except CroniterError:
        return f"{expression!r} never fires (no date matches it, like 30 February)"
    return None


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
