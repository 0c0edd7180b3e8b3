"""The step's decision as a plain function: no ports, no awaits, the same answer every time.

Random graphs of inline nodes (transform, condition, noop, wait_for_signal) are decided
from facts alone; the decision is deterministic, leaves the held copy alone, asks for
what it did beyond the row as effects, and says when a template named a fact it lacks.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application.engine.changes import Held
from application.engine.decision import Advance, Close, decide
from application.engine.effects import CancelChild, ConsumeSignal
from application.engine.facts import Facts, MissingFacts, Needs
from application.nodes.builtin import builtin_executors
from application.records import Lease, Signal
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus, NodeStatus
from domain.validation import parse_definition

NOW = datetime(2030, 1, 1, tzinfo=UTC)
EXECUTORS = builtin_executors()


def held_for(document: dict[str, Any], **runs: NodeRun) -> Held:
    definition = parse_definition(document)
    execution = Execution("ex_1", "ws", "wf_1", 1, ExecutionStatus.PENDING, {"n": 3}, NOW, seq=1)
    node_runs = {node.id: runs.get(node.id, NodeRun(node.id)) for node in definition.nodes}
    lease = Lease("ex_1", "w1", 1, NOW + timedelta(seconds=30))
    return Held(lease, execution, node_runs, definition)


def facts(**fields: Any) -> Facts:
    ids = count(1)
    base: dict[str, Any] = {
        "now": NOW,
        "rng": lambda: 0.5,
        "new_id": lambda prefix: f"{prefix}_{next(ids)}",
    }
    return Facts(**(base | fields))


@st.composite
def inline_graphs(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.integers(1, 12))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    for i in range(size):
        kind = draw(st.sampled_from(["noop", "transform"]))
        config = {"output": {"i": i, "n": "{{ input.n }}"}} if kind == "transform" else {}
        nodes.append({"id": f"n{i}", "kind": kind, "config": config})
        for source in draw(st.sets(st.integers(0, i - 1), max_size=2)) if i else ():
            edges.append({"from": f"n{source}", "to": f"n{i}"})
    return {"nodes": nodes, "edges": edges}


@given(inline_graphs())
@settings(max_examples=200, deadline=None)
def test_an_inline_graph_is_decided_in_one_step_the_same_way_every_time(
    document: dict[str, Any],
) -> None:
    held = held_for(document)
    before = copy.deepcopy((held.execution, held.runs))

    first = decide(held, Advance(opening=True), facts(), EXECUTORS)
    again = decide(held, Advance(opening=True), facts(), EXECUTORS)

    assert (held.execution, held.runs) == before  # the held copy is untouched
    assert (first.execution, first.runs, first.events) == (
        again.execution,
        again.runs,
        again.events,
    )
    assert first.execution.status is ExecutionStatus.COMPLETED
    assert all(run.status is NodeStatus.SUCCEEDED for run in first.runs.values())
    assert first.effects == [] and first.started == []


APPROVAL = {
    "nodes": [
        {"id": "gate", "kind": "wait_for_signal", "config": {"signal": "approve"}},
        {"id": "after", "kind": "noop"},
    ],
    "edges": [{"from": "gate", "to": "after"}],
}


def test_a_waiting_node_takes_the_oldest_signal_it_is_given_as_an_effect() -> None:
    held = held_for(APPROVAL)
    signal = Signal("sig_1", "ex_1", "approve", {"by": "ann"}, NOW)
    known = facts(signals={"approve": [signal]}, looked_up=Needs(signals=frozenset({"approve"})))

    changes = decide(held, Advance(opening=True), known, EXECUTORS)

    assert changes.effects == [ConsumeSignal("sig_1", "ex_1", "gate")]
    assert changes.runs["gate"].output == {"signal": "approve", "payload": {"by": "ann"}}
    assert changes.execution.status is ExecutionStatus.COMPLETED


def test_a_fact_the_step_was_not_given_is_asked_for() -> None:
    held = held_for(APPROVAL)
    try:
        decide(held, Advance(opening=True), facts(), EXECUTORS)
    except MissingFacts as missing:
        assert missing.needs == Needs(signals=frozenset({"approve"}))
    else:
        raise AssertionError("the decision should ask for the signals named 'approve'")


def test_closing_cancels_the_children_it_waits_on_as_effects() -> None:
    child_wait = NodeRun(
        "child", NodeStatus.WAITING, attempt=1, started_at=NOW, waiting_for={"child": "ex_9"}
    )
    document = {
        "nodes": [{"id": "child", "kind": "sub_workflow", "config": {"workflow_id": "wf_2"}}],
        "edges": [],
    }
    held = held_for(document, child=child_wait)
    held.execution = replace(held.execution, status=ExecutionStatus.RUNNING)

    changes = decide(held, Close(), facts(), EXECUTORS)

    assert changes.effects == [CancelChild("ex_9")]
    assert changes.runs["child"].status is NodeStatus.CANCELLED
    assert changes.execution.status is ExecutionStatus.CANCELLED
