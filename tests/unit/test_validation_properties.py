"""Properties of validation over generated documents: valid ones pass and round-trip,
documents broken in one way report that problem, and nothing makes validation crash."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.definition import NodeKind
from domain.errors import InvalidDefinition
from domain.problems import Problem
from domain.validation import definition_to_document, parse_definition, validate_document
from tests.strategies import invalid_mutations, workflow_documents

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(workflow_documents())
def test_definitions_round_trip_through_documents(doc: dict[str, Any]) -> None:
    definition = parse_definition(doc)
    written = definition_to_document(definition)

    assert parse_definition(written) == definition
    assert json.loads(json.dumps(written)) == written  # plain JSON, nothing Python-only
    assert {node.id for node in definition.nodes} == {node["id"] for node in doc["nodes"]}
    assert len(definition.edges) == len(doc.get("edges", []))


@PROPERTY_SETTINGS
@given(workflow_documents())
def test_generated_documents_are_valid_acyclic_graphs(doc: dict[str, Any]) -> None:
    assert validate_document(doc) == []
    definition = parse_definition(doc)
    order = definition.topological_order
    position = {node_id: index for index, node_id in enumerate(order)}

    assert sorted(order) == sorted(node.id for node in definition.nodes)
    assert all(position[edge.source] < position[edge.target] for edge in definition.edges)


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(workflow_documents(max_nodes=10, kinds=tuple(NodeKind)))
def test_documents_with_every_kind_are_valid(doc: dict[str, Any]) -> None:
    assert validate_document(doc) == []


@PROPERTY_SETTINGS
@given(invalid_mutations())
def test_documents_broken_once_report_the_expected_code(case: tuple[dict[str, Any], str]) -> None:
    doc, expected_code = case

    codes = {problem.code for problem in validate_document(doc)}

    assert expected_code in codes
    with pytest.raises(InvalidDefinition):
        parse_definition(doc)


@PROPERTY_SETTINGS
@given(json_values)
def test_arbitrary_json_never_crashes_validation(value: Any) -> None:
    problems = validate_document(value)

    assert all(isinstance(problem, Problem) for problem in problems)
    if not isinstance(value, dict):
        assert [problem.code for problem in problems] == ["invalid_document"]


@PROPERTY_SETTINGS
@given(workflow_documents(max_nodes=8), st.data())
def test_any_field_replaced_by_arbitrary_json_never_crashes(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    broken = copy.deepcopy(doc)
    container, key = data.draw(st.sampled_from(list(_slots(broken))))
    container[key] = data.draw(json_values)

    problems = validate_document(broken)

    assert all(isinstance(problem, Problem) and problem.message for problem in problems)


def _slots(value: Any) -> Any:
    """Every (container, key) pair inside a JSON value, the top level's fields included."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield value, key
        if isinstance(item, dict | list) and item:
            yield from _slots(item)
