"""Problems found in a workflow document, and small helpers for naming where they are."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Large enough for any real wait, small enough that `timedelta(seconds=...)` cannot overflow.
MAX_DURATION_SECONDS = 10 * 366 * 24 * 3600.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: a stable `code`, where it is, and what to do about it."""

    code: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


def seconds_to_timedelta(seconds: float) -> timedelta:
    """A positive duration; values below a microsecond round up so that it never reads as 0."""
    return max(timedelta(seconds=seconds), timedelta(microseconds=1))


def join_path(base: str, key: str | int) -> str:
    """`nodes` + 2 -> `nodes[2]`; `nodes[2]` + `id` -> `nodes[2].id`; `` + `nodes` -> `nodes`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def is_template(value: object) -> bool:
    """Whether a config value is rendered just before its node runs: it holds
    `{{ expression }}` (per the brief) or `{% statement %}` (the renderer treats it so)."""
    # Spelled out rather than a loop over markers: every config value of every node
    # started goes through here.
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def is_number(value: object) -> bool:
    """A finite int or float; booleans are not numbers here even though Python says so."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_json_value(value: object) -> bool:
    """Whether `value` is made only of what JSON can carry."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int | float):
        return is_number(value)
    if isinstance(value, list):
        return all(is_json_value(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json_value(item) for key, item in value.items())
    return False


def show(value: Any) -> str:
    """A short rendering of a bad value for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
