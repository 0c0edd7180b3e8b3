"""Control flow through the engine: chains, parallel branches and joins, condition
branches with propagating skips, and `on_error: continue` routing along error edges."""

from __future__ import annotations

import asyncio

from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from domain.events import EventType
from domain.policies import NodeError
from tests.application.conftest import Harness, chain, document, edge, node, scripted

PERMANENT = Failed(NodeError("bad_request", "the service said no", retryable=False))


async def test_a_sequential_chain_runs_each_node_once_in_order_and_passes_data(
    harness: Harness,
) -> None:
    doc = document(
        [
            node("a", "transform", config={"output": {"v": "{{ input.n + 1 }}"}}),
            scripted("b"),
            node("c", "transform", config={"output": "{{ nodes.a.output.v * 10 }}"}),
        ],
        chain("a", "b", "c"),
    )

    execution_id = await harness.run(doc, {"n": 4})

    assert harness.status(execution_id) == "completed"
    assert harness.execution(execution_id).output == {"c": 50}
    assert harness.node(execution_id, "b").output == {"node": "b", "attempt": 1}
    assert harness.executor.attempts("b") == [1]
    started = [e.node_id for e in harness.events(execution_id) if e.type == "node_started"]
    assert started == ["a", "b", "c"]


async def test_parallel_branches_run_concurrently_and_the_join_waits_for_both(
    harness: Harness,
) -> None:
    both_running = asyncio.Event()
    entered: set[str] = set()

    async def meet_the_other_branch(call: NodeCall) -> NodeResult:
        entered.add(call.node_id)
        if len(entered) == 2:
            both_running.set()
        await asyncio.wait_for(both_running.wait(), 5)  # hangs unless both bodies overlap
        return Succeeded(output=call.node_id)

    harness.executor.on("left", 1, meet_the_other_branch)
    harness.executor.on("right", 1, meet_the_other_branch)
    doc = document(
        [node("start"), scripted("left"), scripted("right"), node("join")],
        [
            edge("start", "left"),
            edge("start", "right"),
            edge("left", "join"),
            edge("right", "join"),
        ],
    )

    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "completed"
    events = harness.events(execution_id)
    join_started = harness.first(execution_id, EventType.NODE_STARTED, "join").seq
    branch_done = [e.seq for e in events if e.type == "node_succeeded" and e.node_id != "join"]
    assert len(branch_done) == 3  # start, left, right
    assert max(branch_done) < join_started
    assert harness.types(execution_id, "join").count(EventType.NODE_STARTED) == 1


async def test_a_condition_takes_one_branch_and_skips_propagate_to_the_other(
    harness: Harness,
) -> None:
    cases = [{"when": "yes", "if": "input.ok"}]
    doc = document(
        [
            node("check", "condition", config={"cases": cases, "default": "no"}),
            scripted("y1"),
            scripted("y2"),
            scripted("n1"),
            scripted("n2"),
            node("join"),
        ],
        [
            edge("check", "y1", "yes"),
            edge("check", "n1", "no"),
            *chain("y1", "y2", "join"),
            *chain("n1", "n2", "join"),
        ],
    )

    execution_id = await harness.run(doc, {"ok": True})

    assert harness.status(execution_id) == "completed"
    statuses = harness.node_statuses(execution_id)
    assert statuses == {
        "check": "succeeded",
        "y1": "succeeded",
        "y2": "succeeded",
        "n1": "skipped",
        "n2": "skipped",
        "join": "succeeded",
    }
    assert harness.node(execution_id, "check").label == "yes"
    assert harness.node(execution_id, "n2").skip_reason == "no_branch_taken"
    assert sorted({call.node_id for call in harness.executor.calls}) == ["y1", "y2"]


async def test_on_error_continue_routes_the_failure_along_the_error_edge(
    harness: Harness,
) -> None:
    harness.executor.on("risky", 1, PERMANENT)
    doc = document(
        [
            scripted("risky", on_error="continue"),
            node("handler", "transform", config={"output": "{{ nodes.risky.error.kind }}"}),
            node("happy"),
        ],
        [edge("risky", "handler", "error"), edge("risky", "happy")],
    )

    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "completed"
    assert harness.node_statuses(execution_id) == {
        "risky": "failed",
        "handler": "succeeded",
        "happy": "skipped",
    }
    assert harness.node(execution_id, "handler").output == "bad_request"
    assert harness.execution(execution_id).output == {"handler": "bad_request"}


async def test_a_failure_without_continue_fails_the_execution_and_skips_downstream(
    harness: Harness,
) -> None:
    harness.executor.on("risky", 1, PERMANENT)
    doc = document([scripted("risky"), node("after")], chain("risky", "after"))

    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "failed"
    assert harness.node(execution_id, "after").skip_reason == "upstream_failed"
    error = harness.execution(execution_id).error
    assert error is not None
    assert (error["node_id"], error["kind"]) == ("risky", "bad_request")
