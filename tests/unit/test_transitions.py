"""The node-run and execution transition tables: every allowed change passes, every other
pair raises IllegalTransition naming both statuses."""

from __future__ import annotations

from itertools import product

import pytest

from domain.errors import IllegalTransition
from domain.status import ExecutionStatus, NodeStatus
from domain.transitions import (
    EXECUTION_TRANSITIONS,
    NODE_TRANSITIONS,
    check_execution_transition,
    check_node_transition,
)

N = NodeStatus
E = ExecutionStatus

# Written out independently of the table under test, from docs/concepts.md and DESIGN.md.
EXPECTED_NODE_MOVES: set[tuple[NodeStatus, NodeStatus]] = {
    (N.PENDING, N.READY),
    (N.PENDING, N.SKIPPED),
    (N.PENDING, N.CANCELLED),
    (N.READY, N.RUNNING),
    (N.READY, N.CANCELLED),
    (N.RUNNING, N.SUCCEEDED),
    (N.RUNNING, N.FAILED),
    (N.RUNNING, N.RETRYING),
    (N.RUNNING, N.WAITING),
    (N.RUNNING, N.CANCELLED),
    (N.RUNNING, N.READY),  # interrupted: the attempt runs again
    (N.RETRYING, N.READY),
    (N.RETRYING, N.CANCELLED),
    (N.WAITING, N.SUCCEEDED),
    (N.WAITING, N.FAILED),
    (N.WAITING, N.CANCELLED),
    (N.FAILED, N.PENDING),  # retry of the execution from its failed nodes
    (N.SKIPPED, N.PENDING),
    (N.CANCELLED, N.PENDING),
}
EXPECTED_EXECUTION_MOVES: set[tuple[ExecutionStatus, ExecutionStatus]] = {
    (E.PENDING, E.RUNNING),
    (E.PENDING, E.WAITING),  # held back by flow control before it starts
    (E.PENDING, E.CANCELLED),
    (E.PENDING, E.TIMED_OUT),
    (E.RUNNING, E.PENDING),  # released by a stopping worker
    (E.RUNNING, E.WAITING),
    (E.RUNNING, E.COMPLETED),
    (E.RUNNING, E.FAILED),
    (E.RUNNING, E.CANCELLED),
    (E.RUNNING, E.TIMED_OUT),
    (E.WAITING, E.RUNNING),
    (E.WAITING, E.CANCELLED),
    (E.WAITING, E.TIMED_OUT),
    (E.FAILED, E.PENDING),
    (E.TIMED_OUT, E.PENDING),
    (E.CANCELLED, E.PENDING),  # a for_each item, when its node is retried
}

ALL_NODE_PAIRS = list(product(NodeStatus, NodeStatus))
ALL_EXECUTION_PAIRS = list(product(ExecutionStatus, ExecutionStatus))


def _pair_id(pair: tuple[object, object]) -> str:
    return f"{pair[0]}->{pair[1]}"


def test_node_table_matches_the_documented_moves() -> None:
    table = {(a, b) for a, targets in NODE_TRANSITIONS.items() for b in targets}
    assert table == EXPECTED_NODE_MOVES
    assert set(NODE_TRANSITIONS) == set(NodeStatus)


def test_execution_table_matches_the_documented_moves() -> None:
    table = {(a, b) for a, targets in EXECUTION_TRANSITIONS.items() for b in targets}
    assert table == EXPECTED_EXECUTION_MOVES
    assert set(EXECUTION_TRANSITIONS) == set(ExecutionStatus)


def test_terminal_nodes_only_go_back_to_pending() -> None:
    for status in NodeStatus:
        if status.is_terminal:
            assert NODE_TRANSITIONS[status] <= {N.PENDING}
    assert NODE_TRANSITIONS[N.SUCCEEDED] == frozenset()


@pytest.mark.parametrize("pair", ALL_NODE_PAIRS, ids=[_pair_id(p) for p in ALL_NODE_PAIRS])
def test_node_transition_pair(pair: tuple[NodeStatus, NodeStatus]) -> None:
    current, target = pair
    if pair in EXPECTED_NODE_MOVES:
        check_node_transition(current, target)
        return
    with pytest.raises(IllegalTransition) as caught:
        check_node_transition(current, target)
    message = str(caught.value)
    assert repr(current.value) in message
    assert repr(target.value) in message
    assert message.index(repr(current.value)) < message.rindex(repr(target.value))
    assert "node run" in message
    assert (caught.value.current, caught.value.target) == (current.value, target.value)
    assert caught.value.code == "illegal_transition"


@pytest.mark.parametrize(
    "pair", ALL_EXECUTION_PAIRS, ids=[_pair_id(p) for p in ALL_EXECUTION_PAIRS]
)
def test_execution_transition_pair(pair: tuple[ExecutionStatus, ExecutionStatus]) -> None:
    current, target = pair
    if pair in EXPECTED_EXECUTION_MOVES:
        check_execution_transition(current, target)
        return
    with pytest.raises(IllegalTransition) as caught:
        check_execution_transition(current, target)
    message = str(caught.value)
    assert repr(current.value) in message
    assert repr(target.value) in message
    assert message.index(repr(current.value)) < message.rindex(repr(target.value))
    assert "execution" in message
    assert (caught.value.current, caught.value.target) == (current.value, target.value)
