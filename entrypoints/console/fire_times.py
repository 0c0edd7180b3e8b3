"""A schedule's coming fire times, read in its own time zone, for the console to show.

The schedule pages show them for a saved schedule and, before saving, for the cron and
time zone being typed; the checks are the ones the schedule use cases make on saving,
so the preview never promises what saving would then refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import CroniterError

from application.schedule_times import cron_problem, is_valid_timezone, next_fire_after

PREVIEW_COUNT = 5
MAX_CRON_LENGTH = 200
MAX_TIMEZONE_LENGTH = 64


@dataclass(frozen=True)
class FireTime:
    """One fire time: `iso` for machines (a `<time datetime>`), `text` for people."""

    iso: str
    text: str


@dataclass(frozen=True)
class FirePreview:
    """Either the next fire times or, per field (`cron`, `timezone`), why there are none."""

    timezone: str
    times: list[FireTime] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "times": [{"iso": t.iso, "text": t.text} for t in self.times],
            "problems": self.problems,
        }


def show_time(moment: datetime, timezone: str) -> str:
    """`Mon 2026-12-07 09:00:00 CET`: the wall-clock time where the schedule is read."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%a %Y-%m-%d %H:%M:%S %Z")


def timing_problems(cron: str, timezone: str, now: datetime) -> dict[str, str]:
    """What is wrong with a cron expression and time zone, by field; empty when nothing."""
    problems: dict[str, str] = {}
    if not cron:
        problems["cron"] = "Give a cron expression, like '0 9 * * *' (09:00 every day)."
    elif len(cron) > MAX_CRON_LENGTH:
        problems["cron"] = f"A cron expression is at most {MAX_CRON_LENGTH} characters."
    elif (problem := cron_problem(cron, now)) is not None:
        problems["cron"] = problem[0].upper() + problem[1:] + "."
    if len(timezone) > MAX_TIMEZONE_LENGTH or not is_valid_timezone(timezone):
        problems["timezone"] = (
            f"{timezone[:MAX_TIMEZONE_LENGTH]!r} is not an IANA time zone "
            "(like 'UTC' or 'Europe/Paris')."
        )
    return problems


def preview(cron: str, timezone: str, now: datetime, count: int = PREVIEW_COUNT) -> FirePreview:
    """The first `count` fire times after `now`, or the problems that leave none."""
    problems = timing_problems(cron, timezone, now)
    if problems:
        return FirePreview(timezone[:MAX_TIMEZONE_LENGTH], problems=problems)
    times: list[FireTime] = []
    after = now
    try:
        for _ in range(count):
            after = next_fire_after(cron, timezone, after)
            local = after.astimezone(ZoneInfo(timezone))
            times.append(FireTime(local.isoformat(), show_time(local, timezone)))
    except CroniterError:
        # Rare dates (29 February) can lie past croniter's search window after the first.
        pass
    return FirePreview(timezone, times=times)
