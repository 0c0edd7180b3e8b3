"""Expectations on an error, in a workflow test: a node's or the execution's.

An error as the engine stores it is `{"kind", "message", "retryable", "details"}`. A
test names only what it cares about: the kind, the message (whole, a substring or a
regular expression) and whether it was retryable; `error: null` expects no error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MESSAGE_CHECKS = ("message", "message_contains", "message_matches")


@dataclass(frozen=True)
class ErrorExpectation:
    """What is expected of an error; a field left None is not checked. `absent` expects
    no error at all (`error: null`)."""

    kind: str | None = None
    message: str | None = None
    message_contains: str | None = None
    message_matches: str | None = None
    """A regular expression searched for in the message (`re.search`)."""
    retryable: bool | None = None
    absent: bool = False

    def view(self) -> dict[str, Any] | None:
        """The expectation as the test file wrote it (None for `error: null`)."""
        if self.absent:
            return None
        fields = {
            "kind": self.kind,
            "message": self.message,
            "message_contains": self.message_contains,
            "message_matches": self.message_matches,
            "retryable": self.retryable,
        }
        return {key: value for key, value in fields.items() if value is not None}

    def shown(self, actual: Any) -> Any:
        """`actual` laid out like `view()`, so that the two are equal when it matches and
        a diff of them points at what does not: a message check that fails shows the
        whole actual message under `message`."""
        if self.absent or not isinstance(actual, dict):
            return actual
        wanted = self.view() or {}
        shown: dict[str, Any] = {
            key: actual.get(key) for key in ("kind", "retryable") if key in wanted
        }
        message = actual.get("message")
        checks = [key for key in _MESSAGE_CHECKS if key in wanted]
        if checks and all(self._message_meets(key, message) for key in checks):
            shown.update({key: wanted[key] for key in checks})
        elif checks:
            shown["message"] = message
        return shown

    def _message_meets(self, check: str, message: Any) -> bool:
        if not isinstance(message, str):
            return False
        if check == "message":
            return message == self.message
        if check == "message_contains":
            return self.message_contains is not None and self.message_contains in message
        return (
            self.message_matches is not None
            and re.search(self.message_matches, message) is not None
        )
