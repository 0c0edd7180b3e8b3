"""Priorities and queues: which executions a worker claims first, and which workers may
claim them at all.

A run's `priority` is an integer from 0 to 9 (higher runs first, 5 by default); among
executions of the same priority, the one due first is claimed first. A workflow's
`settings.priority` is the default of its runs, and a child started by `sub_workflow` or
`for_each` takes its parent's priority.

A workflow's `settings.queue` names the queue its executions are put on (`default` unless
set); a worker started with `--queues` claims only from those queues, one started without
claims from every queue.
"""

from __future__ import annotations

import re

MIN_PRIORITY = 0
MAX_PRIORITY = 9
DEFAULT_PRIORITY = 5
PRIORITY_LEVELS = tuple(range(MAX_PRIORITY, MIN_PRIORITY - 1, -1))
"""Every priority, highest first: the order in which a worker looks at them."""

DEFAULT_QUEUE = "default"
MAX_QUEUE_LENGTH = 100
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def queue_name_problem(name: object) -> str | None:
    """Why `name` is not a queue name (letters, digits, `-`, `_`, `.`; 1-100 characters),
    or None when it is one."""
    if not isinstance(name, str) or not _QUEUE_NAME.fullmatch(name):
        return "a queue name is made of letters, digits, '-', '_' and '.'"
    if len(name) > MAX_QUEUE_LENGTH:
        return f"a queue name is at most {MAX_QUEUE_LENGTH} characters long"
    return None


def parse_queues(text: str) -> tuple[str, ...]:
    """A comma-separated list of queue names (`a,b`), in order, without repeats; an empty
    text is no list. Raises ValueError naming the first bad name."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        problem = queue_name_problem(name)
        if problem is not None:
            raise ValueError(f"{name!r} is not a queue name: {problem}")
    return tuple(dict.fromkeys(names))
