"""The allowed status changes of executions and node runs, checked in one place."""

from __future__ import annotations

from domain.errors import IllegalTransition
from domain.status import ExecutionStatus as E
from domain.status import NodeStatus as N

NODE_TRANSITIONS: dict[N, frozenset[N]] = {
    N.PENDING: frozenset({N.READY, N.SKIPPED, N.CANCELLED}),
    N.READY: frozenset({N.RUNNING, N.CANCELLED}),
    N.RUNNING: frozenset({N.SUCCEEDED, N.FAILED, N.RETRYING, N.WAITING, N.CANCELLED, N.READY}),
    N.RETRYING: frozenset({N.READY, N.CANCELLED}),
    N.WAITING: frozenset({N.SUCCEEDED, N.FAILED, N.CANCELLED}),
    N.SUCCEEDED: frozenset(),
    N.FAILED: frozenset({N.PENDING}),
    N.SKIPPED: frozenset({N.PENDING}),
    N.CANCELLED: frozenset({N.PENDING}),
}

EXECUTION_TRANSITIONS: dict[E, frozenset[E]] = {
    # pending -> waiting: flow control holds it back before it starts (a slot, a window).
    E.PENDING: frozenset({E.RUNNING, E.WAITING, E.CANCELLED, E.TIMED_OUT}),
    E.RUNNING: frozenset({E.PENDING, E.WAITING, E.COMPLETED, E.FAILED, E.CANCELLED, E.TIMED_OUT}),
    E.WAITING: frozenset({E.RUNNING, E.CANCELLED, E.TIMED_OUT}),
    E.COMPLETED: frozenset(),
    E.FAILED: frozenset({E.PENDING}),
    # Only a `for_each` item is reopened once cancelled: its node is retried (the API retries
    # failed and timed-out executions only).
    E.CANCELLED: frozenset({E.PENDING}),
    E.TIMED_OUT: frozenset({E.PENDING}),
}


def check_node_transition(current: N, target: N) -> None:
    """Raise IllegalTransition unless a node run may go from `current` to `target`."""
    if target not in NODE_TRANSITIONS[current]:
        raise IllegalTransition("a node run", current.value, target.value)


def check_execution_transition(current: E, target: E) -> None:
    """Raise IllegalTransition unless an execution may go from `current` to `target`."""
    if target not in EXECUTION_TRANSITIONS[current]:
        raise IllegalTransition("an execution", current.value, target.value)
