"""The bounds every JSON value a person or client sends must keep: nesting, NUL, integers.

PostgreSQL refuses a NUL character in text and JSONB, and its bigint holds signed 64-bit
integers, so such values are refused here, with their path, before anything is written.
Nesting is bounded so every later walk of a value (validation, templates, encoding) stays
far from Python's recursion limit; this check walks with a list, so it cannot recurse.
A size bound catches documents that grew while they were parsed (YAML).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from application.input_errors import InvalidInput

MAX_NESTING = 64
"""Arrays and objects inside one another, counting the outermost as one level."""
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1
NUL = "\x00"
MAX_RUNS = 1_000
"""Runs in one request: a larger batch goes in several requests."""


@dataclass(frozen=True)
class Refusal:
    """Why a value is refused, and where in it."""

    path: str
    message: str


def child_path(path: str, key: str | int) -> str:
    """`input` + `items` -> `input.items`; `input.items` + 2 -> `input.items[2]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_value(value: Any, path: str = "", max_size: int | None = None) -> None:
    """Raise `InvalidInput` naming the first place `value` breaks a bound."""
    refusal = first_refusal(value, path, max_size)
    if refusal is not None:
        raise InvalidInput(refusal.path, refusal.message)


def first_refusal(value: Any, path: str = "", max_size: int | None = None) -> Refusal | None:
    """The first place `value` breaks a bound, or None when it keeps them all.

    `max_size` bounds the value's JSON form in characters (counted from below: strings,
    keys and one per other value, so a value refused is certainly over it).
    """
    size = 0
    pending: list[tuple[Any, str, int]] = [(value, path, 0)]
    while pending:
        item, where, depth = pending.pop()
        refusal = _scalar_refusal(item, where)
        if refusal is not None:
            return refusal
        size += len(item) + 2 if isinstance(item, str) else 1
        if max_size is not None and size > max_size:
            return Refusal(path, f"the document is larger than {max_size} characters as JSON")
        if isinstance(item, dict | list):
            if depth + 1 > MAX_NESTING:
                return Refusal(where, f"arrays and objects nest deeper than {MAX_NESTING} levels")
            if isinstance(item, dict):
                refusal = _keys_refusal(item, where)
                if refusal is not None:
                    return refusal
                size += sum(len(key) + 2 for key in item)
            for key, child in _children(item):
                pending.append((child, child_path(where, key), depth + 1))
    return None


def _children(container: dict[Any, Any] | list[Any]) -> Iterator[tuple[Any, Any]]:
    return iter(enumerate(container) if isinstance(container, list) else container.items())


def _keys_refusal(mapping: dict[Any, Any], where: str) -> Refusal | None:
    for key in mapping:
        if not isinstance(key, str):
            # YAML allows numbers, dates or null as keys; JSON has only strings.
            return Refusal(where, f"the key {key!r} is not a string: quote it")
        if NUL in key:
            return Refusal(where, "a key holds a NUL character (\\u0000)")
    return None


def _scalar_refusal(item: Any, where: str) -> Refusal | None:
    if item is None or isinstance(item, bool | dict | list):
        return None
    if isinstance(item, str):
        return Refusal(where, "a NUL character (\\u0000) cannot be stored") if NUL in item else None
    if isinstance(item, int):
        if MIN_INTEGER <= item <= MAX_INTEGER:
            return None
        return Refusal(where, "integers must lie within the signed 64-bit range (±9.2e18)")
    if isinstance(item, float):
        return None if math.isfinite(item) else Refusal(where, "numbers must be finite")
    kind = type(item).__name__
    return Refusal(where, f"a {kind} is not a JSON value: use a string, number, list or object")
