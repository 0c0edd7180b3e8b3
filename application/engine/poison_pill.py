"""The poison-pill rule: an execution whose step fails the same way N times in a row ends
`failed` with an `engine_error`, instead of being claimed again forever.

A step that raises (a bug, a statement the database refuses) leaves its execution leased
until the lease runs out, and the next claimer would take the same step and fail the same
way. Each failure is counted on the execution's row; the claimer that finds the count at
the limit ends the execution without taking the step, and a step that commits forgets the
count.
"""

from __future__ import annotations

from typing import Any

from application.ports.unit_of_work import StepFailure
from application.redaction import redact

DEFAULT_POISON_PILL_AFTER = 5
ENGINE_ERROR = "engine_error"
_MAX_MESSAGE = 1_000


def describe_failure(error: Exception, secret_values: set[str]) -> tuple[str, str]:
    """(kind, message) of a failed step: the kind is what "the same way" compares."""
    message = redact(f"{type(error).__name__}: {error}", secret_values)
    return type(error).__name__, str(message)[:_MAX_MESSAGE]


def is_poison_pill(failure: StepFailure | None, limit: int) -> bool:
    """Whether the execution's steps have failed often enough that it must end."""
    return failure is not None and failure.count >= limit


def given_up_error(failure: StepFailure) -> dict[str, Any]:
    """The error a given-up execution ends with: why, and how the last step failed."""
    message = (
        f"the engine failed {failure.count} times in a row to take a step of this execution"
        f" ({failure.kind}) and stopped trying; last failure: {failure.message}"
    )
    details = {"failures": failure.count, "last_failure": failure.message}
    return {"kind": ENGINE_ERROR, "message": message, "details": details}
