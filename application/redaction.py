"""Redaction: scrubbing secret values from anything about to be stored, logged or shown."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4


def redact(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of ``value`` with every secret (and its JSON- or URL-escaped forms) replaced.

    Secrets shorter than MIN_SECRET_LENGTH are ignored: replacing "a" everywhere would
    destroy the data and hide nothing.
    """
    pattern = _redaction_pattern(frozenset(secret_values))
    return value if pattern is None else _redact(value, pattern)


@functools.lru_cache(maxsize=256)
def _redaction_pattern(secret_values: frozenset[str]) -> re.Pattern[str] | None:
    forms = {
        form
        for secret in secret_values
        if len(secret) >= MIN_SECRET_LENGTH
        for form in (
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe=""),
            quote_plus(secret, safe=""),
        )
    }
    if not forms:
        return None
    # Longest first, so a secret that contains another is replaced whole.
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {_redact(key, pattern): _redact(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, pattern) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact(item, pattern) for item in value)
    return value
