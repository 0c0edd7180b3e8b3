"""Workflow document validation: every rule with its exact code and path, and parsing."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from domain.definition import Edge, Node, NodeKind, OnError, WorkflowDefinition, WorkflowSettings
from domain.errors import InvalidDefinition
from domain.policies import RetryPolicy
from domain.validation import (
    MAX_EDGES,
    MAX_NODES,
    Problem,
    definition_to_document,
    parse_definition,
    validate_document,
)

YES_NO = {"cases": [{"when": "yes", "if": "input.ok"}], "default": "no"}


def node(node_id: str, kind: str = "noop", **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, **fields}


def condition(node_id: str, **fields: Any) -> dict[str, Any]:
    return node(node_id, "condition", config=YES_NO, **fields)


def edge(source: str, target: str, when: str | None = None) -> dict[str, Any]:
    found = {"from": source, "to": target}
    return found if when is None else {**found, "when": when}


def document(*nodes: dict[str, Any], edges: tuple[dict[str, Any], ...] = (), **extra: Any) -> Any:
    return {"nodes": list(nodes), "edges": list(edges), **extra}


def found(doc: Any) -> set[tuple[str, str]]:
    return {(problem.code, problem.path) for problem in validate_document(doc)}


def only(doc: Any) -> tuple[str, str]:
    problems = validate_document(doc)
    assert len(problems) == 1, problems
    return problems[0].code, problems[0].path


# ---- document shape ----------------------------------------------------------------------


@pytest.mark.parametrize("doc", [None, [], "nodes", 3])
def test_a_document_must_be_an_object(doc: Any) -> None:
    assert only(doc) == ("invalid_document", "")


def test_nodes_are_required() -> None:
    assert only({}) == ("missing_field", "nodes")


def test_an_empty_node_list_is_no_nodes() -> None:
    assert only({"nodes": []}) == ("no_nodes", "nodes")


def test_a_chain_of_the_maximum_size_is_valid() -> None:
    ids = [f"n{index}" for index in range(MAX_NODES)]
    chain = tuple(edge(a, b) for a, b in pairwise(ids))
    assert validate_document(document(*map(node, ids), edges=chain)) == []


def test_one_node_over_the_maximum_is_refused_whole() -> None:
    doc = document(*(node(f"n{index}") for index in range(MAX_NODES + 1)))
    problems = validate_document(doc)
    assert [(p.code, p.path) for p in problems] == [("too_many_nodes", "nodes")]
    assert f"at most {MAX_NODES} nodes" in problems[0].message
    assert "sub-workflows" in problems[0].message


def test_too_many_edges_are_refused_whole() -> None:
    edges = tuple(edge("a", "b") for _ in range(MAX_EDGES + 1))
    assert only(document(node("a"), node("b"), edges=edges)) == ("too_many_edges", "edges")


def test_the_smallest_valid_document() -> None:
    assert validate_document({"nodes": [node("a")]}) == []


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"nodes": {"a": {}}}, ("invalid_type", "nodes")),
        ({"nodes": [node("a")], "edges": {}}, ("invalid_type", "edges")),
        ({"nodes": [node("a")], "settings": []}, ("invalid_type", "settings")),
        ({"nodes": [node("a"), "b"]}, ("invalid_type", "nodes[1]")),
        ({"nodes": [node("a")], "edges": [["a", "b"]]}, ("invalid_type", "edges[0]")),
        ({"nodes": [node("a", name=3)]}, ("invalid_type", "nodes[0].name")),
    ],
)
def test_wrong_types(doc: Any, expected: tuple[str, str]) -> None:
    assert only(doc) == expected


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"nodes": [node("a")], "version": 2}, "version"),
        ({"nodes": [node("a", type="x")]}, "nodes[0].type"),
        (
            document(node("a"), node("b"), edges=({"from": "a", "to": "b", "if": "x"},)),
            "edges[0].if",
        ),
        ({"nodes": [node("a")], "settings": {"timeout": 3}}, "settings.timeout"),
        (
            {"nodes": [node("a")], "settings": {"retry": {"jitter": 0, "tries": 2}}},
            "settings.retry.tries",
        ),
        ({"nodes": [node("a", retry={"attempts": 2})]}, "nodes[0].retry.attempts"),
        ({"nodes": [node("a", config={"x": 1})]}, "nodes[0].config.x"),
    ],
)
def test_unknown_fields(doc: Any, path: str) -> None:
    assert only(doc) == ("unknown_field", path)


def test_problem_as_dict() -> None:
    problem = Problem("cycle", "edges[1]", "Break it.")

    assert problem.as_dict() == {"code": "cycle", "path": "edges[1]", "message": "Break it."}


# ---- nodes -------------------------------------------------------------------------------


def test_node_id_and_kind_are_required() -> None:
    assert found({"nodes": [{"kind": "noop"}, {"id": "b"}]}) == {
        ("missing_field", "nodes[0].id"),
        ("missing_field", "nodes[1].kind"),
    }


@pytest.mark.parametrize("bad_id", ["", "1abc", "a-b", "a.b", "a b", "a\n", "x" * 65, 7, ["a"]])
def test_invalid_node_ids(bad_id: Any) -> None:
    assert only({"nodes": [node(bad_id)]}) == ("invalid_node_id", "nodes[0].id")


@pytest.mark.parametrize("good_id", ["a", "_private", "fetch_user_2", "X" * 64])
def test_valid_node_ids(good_id: str) -> None:
    assert validate_document({"nodes": [node(good_id)]}) == []


def test_a_duplicate_id_is_reported_on_the_second_occurrence() -> None:
    doc = document(node("a"), node("b"), node("a", "transform", config={"output": 1}))

    assert only(doc) == ("duplicate_node_id", "nodes[2].id")


@pytest.mark.parametrize(
    "kind", ["NOOP", "", "Teleport", "crm..lookup", "1st", "conditon", "http_requests", 3, None]
)
def test_kinds_that_cannot_name_a_kind(kind: Any) -> None:
    code = "missing_field" if kind is None else "unknown_node_kind"

    assert only({"nodes": [node("a", kind)]}) == (code, "nodes[0].kind")


@pytest.mark.parametrize("kind", ["teleport", "crm.lookup_customer", "image.resize_v2"])
def test_a_kind_a_package_may_add_is_left_to_the_save_checks(kind: str) -> None:
    """Whether a worker has it is known only at save, where the registry is read."""
    doc = {"nodes": [node("a", kind, config={"any": ["thing"]})]}

    assert validate_document(doc) == []
    assert parse_definition(doc).extension_kinds == (kind,)


def test_the_config_of_an_installed_kind_must_be_an_object() -> None:
    assert only({"nodes": [node("a", "teleport", config=[1])]}) == (
        "invalid_config",
        "nodes[0].config",
    )


def test_bad_config_is_reported_under_the_node() -> None:
    doc = document(node("a"), node("fetch", "http_request", config={"url": "ftp://x"}))

    assert only(doc) == ("invalid_config", "nodes[1].config.url")


def test_a_kind_that_needs_config_without_one() -> None:
    assert only({"nodes": [node("w", "wait_for_signal")]}) == (
        "invalid_config",
        "nodes[0].config.signal",
    )


def test_a_config_that_is_not_an_object() -> None:
    assert only({"nodes": [node("a", config=[1])]}) == ("invalid_config", "nodes[0].config")


@pytest.mark.parametrize("timeout", [0, -1, "30s", True, [], 1e20])
def test_invalid_node_timeouts(timeout: Any) -> None:
    assert only({"nodes": [node("a", timeout=timeout)]}) == ("invalid_timeout", "nodes[0].timeout")


@pytest.mark.parametrize("timeout", [0, -5, "1h"])
def test_invalid_execution_timeouts(timeout: Any) -> None:
    doc = {"nodes": [node("a")], "settings": {"execution_timeout": timeout}}

    assert only(doc) == ("invalid_timeout", "settings.execution_timeout")


@pytest.mark.parametrize("on_error", ["ignore", "CONTINUE", True, 1])
def test_invalid_on_error(on_error: Any) -> None:
    assert only({"nodes": [node("a", on_error=on_error)]}) == (
        "invalid_on_error",
        "nodes[0].on_error",
    )


# ---- retry policies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"initial_interval": 0}, "initial_interval"),
        ({"initial_interval": "1s"}, "initial_interval"),
        ({"max_interval": -1}, "max_interval"),
        ({"initial_interval": 10, "max_interval": 5}, "max_interval"),
        ({"initial_interval": 120}, "max_interval"),
        ({"backoff_coefficient": 0.9}, "backoff_coefficient"),
        ({"jitter": -0.1}, "jitter"),
        ({"jitter": 1.01}, "jitter"),
        ({"non_retryable": "auth"}, "non_retryable"),
        ({"non_retryable": ["auth", 3]}, "non_retryable[1]"),
    ],
)
def test_invalid_retry_policies(retry: dict[str, Any], field: str) -> None:
    on_node = {"nodes": [node("a", retry=retry)]}
    in_settings = {"nodes": [node("a")], "settings": {"retry": retry}}

    assert only(on_node) == ("invalid_retry_policy", f"nodes[0].retry.{field}")
    assert only(in_settings) == ("invalid_retry_policy", f"settings.retry.{field}")


def test_a_retry_policy_that_is_not_an_object() -> None:
    assert only({"nodes": [node("a", retry=3)]}) == ("invalid_retry_policy", "nodes[0].retry")


def test_node_retry_fields_default_to_the_workflow_policy() -> None:
    workflow_retry = {"max_attempts": 5, "initial_interval": 2, "max_interval": 30, "jitter": 0.5}
    doc = {
        "nodes": [node("a", retry={"max_attempts": 1}), node("b")],
        "settings": {"retry": workflow_retry, "execution_timeout": 600},
    }
    definition = parse_definition(doc)

    workflow_policy = RetryPolicy(
        max_attempts=5,
        initial_interval=timedelta(seconds=2),
        max_interval=timedelta(seconds=30),
        jitter=0.5,
    )
    assert definition.settings == WorkflowSettings(workflow_policy, timedelta(seconds=600))
    assert definition.retry_policy("a") == RetryPolicy(
        max_attempts=1,
        initial_interval=timedelta(seconds=2),
        max_interval=timedelta(seconds=30),
        jitter=0.5,
    )
    assert definition.retry_policy("b") == workflow_policy


def test_a_node_interval_is_checked_against_the_inherited_one() -> None:
    doc = {
        "nodes": [node("a", retry={"initial_interval": 20})],
        "settings": {"retry": {"initial_interval": 1, "max_interval": 10}},
    }

    assert only(doc) == ("invalid_retry_policy", "nodes[0].retry.max_interval")


# ---- edges -------------------------------------------------------------------------------


def test_edges_to_and_from_unknown_nodes() -> None:
    doc = document(
        node("a"), node("b"), edges=(edge("a", "b"), edge("ghost", "b"), edge("a", "nope"))
    )

    assert found(doc) == {
        ("unknown_edge_source", "edges[1].from"),
        ("unknown_edge_target", "edges[2].to"),
    }


def test_edge_endpoints_are_required_strings() -> None:
    doc = document(node("a"), node("b"), edges=({"to": "b"}, {"from": "a"}, {"from": 1, "to": "b"}))

    assert found(doc) == {
        ("missing_field", "edges[0].from"),
        ("missing_field", "edges[1].to"),
        ("invalid_type", "edges[2].from"),
    }


def test_a_when_must_be_a_string() -> None:
    doc = document(
        condition("c"),
        node("b"),
        edges=(edge("c", "b", "yes"), {"from": "c", "to": "b", "when": 1}),
    )

    assert found(doc) == {("invalid_type", "edges[1].when")}


def test_duplicate_edges() -> None:
    doc = document(
        condition("c"),
        node("b"),
        edges=(edge("c", "b", "yes"), edge("c", "b", "no"), edge("c", "b", "yes")),
    )

    assert only(doc) == ("duplicate_edge", "edges[2]")


# ---- cycles, start nodes, reachability ---------------------------------------------------


def test_a_cycle_names_its_nodes() -> None:
    doc = document(
        node("start"),
        node("a"),
        node("b"),
        node("c"),
        edges=(edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")),
    )
    problems = validate_document(doc)

    assert [(p.code, p.path) for p in problems] == [("cycle", "edges[3]")]
    assert "a -> b -> c -> a" in problems[0].message


def test_a_self_loop_is_a_cycle() -> None:
    doc = document(node("start"), node("a"), edges=(edge("start", "a"), edge("a", "a")))
    problems = validate_document(doc)

    assert [(p.code, p.path) for p in problems] == [("cycle", "edges[1]")]
    assert "a -> a" in problems[0].message


def test_each_distinct_cycle_is_reported_once() -> None:
    doc = document(
        node("s"),
        node("a"),
        condition("b"),
        node("c"),
        edges=(
            edge("s", "a"),
            edge("a", "b"),
            edge("b", "a", "yes"),
            edge("b", "a", "no"),
            edge("b", "c", "yes"),
            edge("c", "c"),
        ),
    )
    cycles = [p for p in validate_document(doc) if p.code == "cycle"]

    assert sorted(p.message.split("cycle ")[1].split(";")[0] for p in cycles) == [
        "a -> b -> a",
        "c -> c",
    ]
    assert [p.path for p in cycles] == ["edges[2]", "edges[5]"]


def test_no_start_node() -> None:
    doc = document(node("a"), node("b"), edges=(edge("a", "b"), edge("b", "a")))

    assert found(doc) == {("no_start_node", "nodes"), ("cycle", "edges[1]")}


def test_a_node_reachable_only_through_a_cycle_is_unreachable() -> None:
    doc = document(node("start"), node("x"), node("y"), edges=(edge("x", "y"), edge("y", "x")))

    assert found(doc) == {
        ("cycle", "edges[1]"),
        ("unreachable_node", "nodes[1]"),
        ("unreachable_node", "nodes[2]"),
    }


def test_a_node_behind_a_label_that_is_never_yielded_is_unreachable() -> None:
    doc = document(condition("c"), node("x"), edges=(edge("c", "x", "maybe"),))

    assert found(doc) == {
        ("unknown_branch_label", "edges[0].when"),
        ("unreachable_node", "nodes[1]"),
    }


def test_unconnected_nodes_are_start_nodes() -> None:
    assert validate_document(document(node("a"), node("b"), node("c"))) == []


# ---- branch labels -----------------------------------------------------------------------


def test_condition_edges_carry_their_labels() -> None:
    doc = document(
        condition("c"), node("y"), node("n"), edges=(edge("c", "y", "yes"), edge("c", "n", "no"))
    )

    assert validate_document(doc) == []


def test_a_condition_edge_without_a_label() -> None:
    doc = document(
        condition("c"), node("y"), node("z"), edges=(edge("c", "y", "yes"), edge("c", "z"))
    )

    assert found(doc) == {
        ("missing_branch_label", "edges[1].when"),
        ("unreachable_node", "nodes[2]"),
    }


def test_a_condition_edge_with_a_label_it_never_yields() -> None:
    doc = document(
        condition("c"), node("y"), edges=(edge("c", "y", "yes"), edge("c", "y", "maybe"))
    )

    assert only(doc) == ("unknown_branch_label", "edges[1].when")


def test_a_label_on_an_edge_from_a_plain_node() -> None:
    doc = document(node("a"), node("b"), node("c"), edges=(edge("a", "b"), edge("a", "c", "yes")))

    assert found(doc) == {
        ("unexpected_branch_label", "edges[1].when"),
        ("unreachable_node", "nodes[2]"),
    }


def test_error_edges_need_on_error_continue() -> None:
    doc = document(
        node("a"),
        node("b", on_error="continue"),
        condition("c", on_error="continue"),
        condition("d"),
        node("sink"),
        edges=(
            edge("a", "b"),
            edge("a", "c"),
            edge("a", "d"),
            edge("a", "sink", "error"),
            edge("b", "sink", "error"),
            edge("c", "sink", "error"),
            edge("d", "sink", "error"),
        ),
    )

    assert found(doc) == {
        ("unexpected_branch_label", "edges[3].when"),
        ("unexpected_branch_label", "edges[6].when"),
    }


def test_labels_are_not_judged_when_the_source_is_too_broken_to_say() -> None:
    doc = document(
        node("c", "conditon", config=YES_NO),
        node("d", "condition", config={"cases": []}),
        node("x"),
        edges=(edge("c", "x", "yes"), edge("d", "x", "no")),
    )

    assert found(doc) == {
        ("unknown_node_kind", "nodes[0].kind"),
        ("invalid_config", "nodes[1].config.cases"),
    }


# ---- all problems at once ----------------------------------------------------------------


def test_one_document_reports_all_of_its_problems() -> None:
    doc = {
        "nodes": [
            node("a"),
            node("a"),
            node("9lives"),
            node("t", "tranform"),
            node("d", "delay", config={"seconds": -1}, timeout=0, retry={"jitter": 2}),
            condition("c", on_error="maybe"),
        ],
        "edges": [edge("a", "ghost"), edge("c", "d"), edge("d", "d"), edge("a", "d", "yes")],
        "settings": {"execution_timeout": "never", "colour": "blue"},
    }

    assert found(doc) == {
        ("duplicate_node_id", "nodes[1].id"),
        ("invalid_node_id", "nodes[2].id"),
        ("unknown_node_kind", "nodes[3].kind"),
        ("invalid_config", "nodes[4].config.seconds"),
        ("invalid_timeout", "nodes[4].timeout"),
        ("invalid_retry_policy", "nodes[4].retry.jitter"),
        ("invalid_on_error", "nodes[5].on_error"),
        ("unknown_edge_target", "edges[0].to"),
        ("missing_branch_label", "edges[1].when"),
        ("cycle", "edges[2]"),
        ("unexpected_branch_label", "edges[3].when"),
        ("unreachable_node", "nodes[4]"),
        ("invalid_timeout", "settings.execution_timeout"),
        ("unknown_field", "settings.colour"),
    }


def test_every_message_is_one_actionable_sentence() -> None:
    doc = {
        "nodes": [node("a"), node("a"), node("x", "bad"), condition("c")],
        "edges": [edge("c", "a"), edge("a", "a"), edge("q", "a")],
    }

    for problem in validate_document(doc):
        assert problem.message[0].isupper() or problem.message[0] in "'\"", problem
        assert problem.message.endswith("."), problem
        assert problem.message.count(". ") == 0, problem


# ---- parsing and writing back ------------------------------------------------------------


def test_parse_definition_builds_the_definition() -> None:
    doc = {
        "nodes": [
            condition("check", name="Check input"),
            node(
                "fetch",
                "http_request",
                config={"url": "https://e.com/{{ input.id }}"},
                timeout=2.5,
                on_error="continue",
                retry={"max_attempts": 4, "non_retryable": ["auth"]},
            ),
            node("done"),
        ],
        "edges": [
            edge("check", "fetch", "yes"),
            edge("fetch", "done"),
            edge("fetch", "done", "error"),
        ],
    }
    definition = parse_definition(doc)

    check, fetch, done = definition.nodes
    assert check == Node("check", NodeKind.CONDITION, YES_NO, name="Check input")
    assert fetch.kind is NodeKind.HTTP_REQUEST
    assert fetch.config == {"url": "https://e.com/{{ input.id }}"}
    assert fetch.timeout == timedelta(seconds=2.5)
    assert fetch.on_error is OnError.CONTINUE
    assert fetch.retry == RetryPolicy(max_attempts=4, non_retryable=frozenset({"auth"}))
    assert done == Node("done", NodeKind.NOOP)
    assert definition.edges == (
        Edge("check", "fetch", "yes"),
        Edge("fetch", "done"),
        Edge("fetch", "done", "error"),
    )
    assert definition.settings == WorkflowSettings()


def test_parsed_config_is_a_copy_of_the_document() -> None:
    config = {"output": {"list": [1]}}
    definition = parse_definition({"nodes": [node("t", "transform", config=config)]})
    config["output"]["list"].append(2)

    assert definition.node("t").config == {"output": {"list": [1]}}


def test_parse_definition_raises_with_every_problem() -> None:
    with pytest.raises(InvalidDefinition) as raised:
        parse_definition({"nodes": [node("a"), node("a")], "edges": [edge("a", "b")]})

    problems = raised.value.problems
    assert {(p.code, p.path) for p in problems if isinstance(p, Problem)} == {
        ("duplicate_node_id", "nodes[1].id"),
        ("unknown_edge_target", "edges[0].to"),
    }
    assert "2 problems" in raised.value.message


def test_definition_to_document_writes_every_setting() -> None:
    definition = WorkflowDefinition(
        nodes=(
            Node("a", NodeKind.DELAY, {"seconds": 5}, timeout=timedelta(seconds=90), name="Wait"),
            Node("b", NodeKind.NOOP, on_error=OnError.CONTINUE, retry=RetryPolicy(max_attempts=2)),
        ),
        edges=(Edge("a", "b"),),
        settings=WorkflowSettings(execution_timeout=timedelta(minutes=5)),
    )
    default_retry = {
        "max_attempts": 3,
        "initial_interval": 1.0,
        "backoff_coefficient": 2.0,
        "max_interval": 60.0,
        "jitter": 0.0,
        "non_retryable": [],
    }

    doc = definition_to_document(definition)

    assert doc == {
        "nodes": [
            {
                "id": "a",
                "kind": "delay",
                "name": "Wait",
                "config": {"seconds": 5},
                "timeout": 90.0,
                "on_error": "fail",
            },
            {
                "id": "b",
                "kind": "noop",
                "config": {},
                "retry": {**default_retry, "max_attempts": 2},
                "on_error": "continue",
            },
        ],
        "edges": [{"from": "a", "to": "b"}],
        "settings": {"retry": default_retry, "execution_timeout": 300.0},
    }
    assert parse_definition(doc) == definition


def test_tiny_durations_never_round_to_zero() -> None:
    definition = parse_definition({"nodes": [node("a", timeout=1e-9)]})

    assert definition.node("a").timeout == timedelta(microseconds=1)
    assert parse_definition(definition_to_document(definition)) == definition


def test_a_nodes_ui_is_kept_as_it_is_for_editors() -> None:
    doc = {"nodes": [node("a", config={}, ui={"x": 40, "y": 80.5, "collapsed": True})]}

    definition = parse_definition(doc)

    assert definition.nodes[0].ui == {"x": 40, "y": 80.5, "collapsed": True}
    assert definition_to_document(definition)["nodes"][0]["ui"] == definition.nodes[0].ui


@pytest.mark.parametrize(
    ("ui", "path"),
    [([1, 2], "nodes[0].ui"), ({"x": "left"}, "nodes[0].ui.x"), ({"y": True}, "nodes[0].ui.y")],
)
def test_a_ui_that_cannot_place_a_node_is_refused(ui: Any, path: str) -> None:
    assert only({"nodes": [node("a", ui=ui)]}) == ("invalid_type", path)
