"""The planner: which pending nodes become ready or skipped, and the execution's outcome."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from domain.definition import WorkflowDefinition
from domain.node_run import NodeRun
from domain.planner import (
    NO_BRANCH_TAKEN,
    UPSTREAM_FAILED,
    Outcome,
    Plan,
    outcome,
    plan,
    plan_downstream,
)
from domain.policies import NodeError
from domain.status import NodeStatus as N
from domain.validation import parse_definition

BOOM = NodeError(kind="network", message="down", retryable=False)


def noop(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "noop", **extra}


def condition(node_id: str, *labels: str, **extra: Any) -> dict[str, Any]:
    cases = [{"when": label, "if": f"input.branch == '{label}'"} for label in labels]
    return {"id": node_id, "kind": "condition", "config": {"cases": cases}, **extra}


def workflow(nodes: list[dict[str, Any]], *edges: tuple[str, ...]) -> WorkflowDefinition:
    """Edges are (from, to) or (from, to, when)."""
    edge_docs = [
        {"from": e[0], "to": e[1], **({"when": e[2]} if len(e) > 2 else {})} for e in edges
    ]
    return parse_definition({"nodes": nodes, "edges": edge_docs})


def runs(definition: WorkflowDefinition, **finished: NodeRun) -> dict[str, NodeRun]:
    found = {node.id: NodeRun(node.id) for node in definition.nodes}
    found.update(finished)
    return found


def ok(node_id: str, output: Any = None, label: str | None = None) -> NodeRun:
    return replace(NodeRun(node_id), status=N.SUCCEEDED, attempt=1, output=output, label=label)


def failed(node_id: str) -> NodeRun:
    return replace(NodeRun(node_id), status=N.FAILED, attempt=1, error=BOOM.as_dict())


def at(node_id: str, status: N) -> NodeRun:
    return replace(NodeRun(node_id), status=status, attempt=1)


CHAIN = workflow([noop("a"), noop("b"), noop("c")], ("a", "b"), ("b", "c"))
FAN = workflow(
    [noop("a"), noop("b"), noop("c"), noop("d")], ("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")
)


def test_start_nodes_are_ready_at_once() -> None:
    definition = workflow([noop("a"), noop("b"), noop("c")], ("a", "c"))
    result = plan(definition, runs(definition))
    assert result.ready == ("a", "b")
    assert result.skipped == ()
    assert result.outcome is None


def test_a_chain_runs_one_node_at_a_time() -> None:
    assert plan(CHAIN, runs(CHAIN)).ready == ("a",)
    assert plan(CHAIN, runs(CHAIN, a=at("a", N.RUNNING))).ready == ()
    assert plan(CHAIN, runs(CHAIN, a=ok("a"))).ready == ("b",)
    assert plan(CHAIN, runs(CHAIN, a=ok("a"), b=ok("b"))).ready == ("c",)


def test_nodes_already_ready_or_running_are_not_planned_again() -> None:
    result = plan(CHAIN, runs(CHAIN, a=ok("a"), b=at("b", N.READY)))
    assert (result.ready, result.skipped, result.outcome) == ((), (), None)


def test_fan_out_makes_every_successor_ready() -> None:
    assert plan(FAN, runs(FAN, a=ok("a"))).ready == ("b", "c")


def test_a_join_waits_for_every_predecessor() -> None:
    for unfinished in (N.PENDING, N.READY, N.RUNNING, N.RETRYING, N.WAITING):
        result = plan(FAN, runs(FAN, a=ok("a"), b=ok("b"), c=at("c", unfinished)))
        assert "d" not in result.ready, unfinished
        assert result.outcome is None
    assert plan(FAN, runs(FAN, a=ok("a"), b=ok("b"), c=ok("c"))).ready == ("d",)


BRANCHES = workflow(
    [condition("big", "yes", "no"), noop("alert"), noop("notify"), noop("done"), noop("join")],
    ("big", "alert", "yes"),
    ("alert", "notify"),
    ("big", "done", "no"),
    ("notify", "join"),
    ("done", "join"),
)


def test_the_untaken_branch_is_skipped_and_the_skip_propagates_down_the_chain() -> None:
    result = plan(BRANCHES, runs(BRANCHES, big=ok("big", label="no")))
    assert result.ready == ("done",)
    assert result.skipped == (("alert", NO_BRANCH_TAKEN), ("notify", NO_BRANCH_TAKEN))


def test_a_join_after_a_condition_runs_when_one_branch_was_taken() -> None:
    state = runs(
        BRANCHES,
        big=ok("big", label="yes"),
        alert=ok("alert"),
        notify=ok("notify"),
        done=at("done", N.SKIPPED),
    )
    result = plan(BRANCHES, state)
    assert (result.ready, result.skipped) == (("join",), ())


def test_a_join_is_skipped_when_no_incoming_edge_was_taken() -> None:
    definition = workflow([condition("c", "yes", "no"), noop("j")], ("c", "j", "yes"))
    result = plan(definition, runs(definition, c=ok("c", label="no")))
    assert result.skipped == (("j", NO_BRANCH_TAKEN),)
    assert result.outcome == Outcome(succeeded=True, output={})


# a -> b -> c, and an independent x -> y
TWO_BRANCHES = workflow(
    [noop("a"), noop("b"), noop("c"), noop("x"), noop("y")], ("a", "b"), ("b", "c"), ("x", "y")
)


def test_a_fatal_failure_skips_its_successors_as_upstream_failed() -> None:
    result = plan(TWO_BRANCHES, runs(TWO_BRANCHES, a=failed("a"), x=ok("x")))
    assert result.skipped[0] == ("b", UPSTREAM_FAILED)
    assert [node for node, _ in result.skipped] == ["b", "c"]
    assert result.ready == ("y",)
    assert result.outcome is None  # the independent branch still runs


def test_every_descendant_of_a_fatal_failure_is_upstream_failed() -> None:
    result = plan(TWO_BRANCHES, runs(TWO_BRANCHES, a=failed("a"), x=ok("x")))
    assert result.skipped == (("b", UPSTREAM_FAILED), ("c", UPSTREAM_FAILED))


def test_a_join_below_a_fatal_failure_does_not_run() -> None:
    definition = workflow(
        [noop("a"), noop("b"), noop("x"), noop("d")], ("a", "b"), ("b", "d"), ("x", "d")
    )
    result = plan(definition, runs(definition, a=failed("a"), x=ok("x")))
    assert result.ready == ()  # today: ("d",), and the execution still ends failed
    assert result.skipped == (("b", UPSTREAM_FAILED), ("d", UPSTREAM_FAILED))


def test_the_execution_fails_only_when_every_node_is_terminal() -> None:
    state = runs(TWO_BRANCHES, a=failed("a"), x=ok("x"), y=at("y", N.RUNNING))
    assert plan(TWO_BRANCHES, state).outcome is None

    state["y"] = ok("y", output=5)
    result = plan(TWO_BRANCHES, state)
    assert result.outcome == Outcome(succeeded=False, error={**BOOM.as_dict(), "node_id": "a"})


def test_the_outcome_names_the_first_failed_node_in_graph_order() -> None:
    # Listed first, but runs after `a`: graph order is a, b, z.
    definition = workflow([noop("z"), noop("a"), noop("b")], ("a", "z"))
    state = runs(definition, a=ok("a"), b=failed("b"), z=failed("z"))
    result = plan(definition, state)
    assert result.outcome is not None
    assert result.outcome.error is not None and result.outcome.error["node_id"] == "b"


def test_a_join_with_one_fatally_failed_predecessor_is_upstream_failed() -> None:
    result = plan(FAN, runs(FAN, a=ok("a"), b=ok("b"), c=failed("c")))
    assert result.skipped == (("d", UPSTREAM_FAILED),)


CONTINUES = workflow(
    [noop("risky", on_error="continue"), noop("handler"), noop("next"), noop("after_handler")],
    ("risky", "handler", "error"),
    ("risky", "next"),
    ("handler", "after_handler"),
)


def test_on_error_continue_takes_error_edges_and_not_plain_ones() -> None:
    result = plan(CONTINUES, runs(CONTINUES, risky=failed("risky")))
    assert result.ready == ("handler",)
    assert result.skipped == (("next", NO_BRANCH_TAKEN),)


def test_on_error_continue_success_takes_plain_edges_and_not_error_ones() -> None:
    result = plan(CONTINUES, runs(CONTINUES, risky=ok("risky")))
    assert result.ready == ("next",)
    assert result.skipped == (("handler", NO_BRANCH_TAKEN), ("after_handler", NO_BRANCH_TAKEN))


def test_a_failure_that_continues_does_not_fail_the_execution() -> None:
    state = runs(
        CONTINUES,
        risky=failed("risky"),
        handler=ok("handler"),
        next=at("next", N.SKIPPED),
        after_handler=ok("after_handler", output={"handled": True}),
    )
    result = plan(CONTINUES, state)
    assert result.outcome == Outcome(succeeded=True, output={"after_handler": {"handled": True}})


def test_the_output_maps_succeeded_sinks_only() -> None:
    definition = workflow(
        [condition("c", "yes", "no"), noop("left"), noop("right"), noop("solo")],
        ("c", "left", "yes"),
        ("c", "right", "no"),
    )
    state = runs(
        definition,
        c=ok("c", output="ignored", label="yes"),
        left=ok("left", output={"v": 1}),
        right=at("right", N.SKIPPED),
        solo=ok("solo", output=[3]),
    )
    result = plan(definition, state)
    assert result.outcome == Outcome(succeeded=True, output={"left": {"v": 1}, "solo": [3]})


def test_a_plan_that_skips_the_last_nodes_also_decides_the_outcome() -> None:
    result = plan(CHAIN, runs(CHAIN, a=failed("a")))
    assert [node for node, _ in result.skipped] == ["b", "c"]
    assert result.outcome is not None and result.outcome.succeeded is False


def test_cancelled_predecessors_take_no_edge() -> None:
    result = plan(CHAIN, runs(CHAIN, a=at("a", N.CANCELLED)))
    assert result.skipped == (("b", NO_BRANCH_TAKEN), ("c", NO_BRANCH_TAKEN))


# ---- planning downstream of what changed -----------------------------------------------


def downstream(definition: WorkflowDefinition, state: dict[str, NodeRun], *changed: str) -> Plan:
    order = {node_id: i for i, node_id in enumerate(definition.topological_order)}
    return plan_downstream(definition, state, changed, order)


DEEP = workflow(
    [condition("gate", "yes", "no"), noop("y1"), noop("y2"), noop("y3"), noop("n1"), noop("j")],
    ("gate", "y1", "yes"),
    ("y1", "y2"),
    ("y2", "y3"),
    ("gate", "n1", "no"),
    ("y3", "j"),
    ("n1", "j"),
)


def test_downstream_of_a_finished_node_is_what_the_whole_plan_decides() -> None:
    cases = [
        (CHAIN, runs(CHAIN, a=ok("a")), "a"),
        (FAN, runs(FAN, a=ok("a")), "a"),
        (FAN, runs(FAN, a=ok("a"), b=ok("b"), c=failed("c")), "c"),
        (DEEP, runs(DEEP, gate=ok("gate", label="no")), "gate"),
        (DEEP, runs(DEEP, gate=ok("gate", label="yes")), "gate"),
        (DEEP, runs(DEEP, gate=failed("gate")), "gate"),
    ]
    for definition, state, changed in cases:
        whole = plan(definition, state)
        assert downstream(definition, state, changed) == replace(whole, outcome=None)


def test_a_skip_propagates_down_the_chain_in_graph_order() -> None:
    state = runs(DEEP, gate=ok("gate", label="no"))
    decided = downstream(DEEP, state, "gate")
    assert decided.ready == ("n1",)
    assert decided.skipped == (
        ("y1", NO_BRANCH_TAKEN),
        ("y2", NO_BRANCH_TAKEN),
        ("y3", NO_BRANCH_TAKEN),
    )


def test_nodes_not_downstream_of_a_change_are_not_looked_at() -> None:
    state = runs(FAN, a=ok("a"), b=at("b", N.RUNNING), c=ok("c"))
    assert downstream(FAN, state, "c") == Plan()
    assert downstream(FAN, state) == Plan()


def test_the_outcome_alone_is_decided_once_every_node_is_final() -> None:
    assert outcome(CHAIN, runs(CHAIN, a=ok("a"), b=ok("b"))) is None
    done = runs(CHAIN, a=ok("a"), b=ok("b"), c=ok("c", output=3))
    assert outcome(CHAIN, done) == Outcome(succeeded=True, output={"c": 3})
