"""The built-in kinds' config descriptions: the JSON Schema derived from each, and the reader
that checks configs at save, agree on every field (keys, required ones, types, bounds,
templates), and each kind's published example is a valid config."""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

import jsonschema_rs
import pytest

from application.node_kinds import BUILTIN_DESCRIPTIONS
from domain.config_fields import ConfigField
from domain.definition import BUILTIN_KINDS, NodeKind
from domain.network_config import AiPromptConfig, HttpRequestConfig
from domain.node_config import (
    CONFIG_SHAPES,
    ConditionConfig,
    DelayConfig,
    ForEachConfig,
    NoopConfig,
    SubWorkflowConfig,
    TransformConfig,
    WaitForSignalConfig,
    builtin_config_schema,
    parse_node_config,
)

PATH = "nodes[0].config"
KINDS = sorted(CONFIG_SHAPES, key=str)
EXAMPLES: dict[str, dict[str, Any]] = {
    description.name: dict(description.example or {}) for description in BUILTIN_DESCRIPTIONS
}
CONFIG_TYPES: dict[NodeKind, type] = {
    NodeKind.HTTP_REQUEST: HttpRequestConfig,
    NodeKind.AI_PROMPT: AiPromptConfig,
    NodeKind.TRANSFORM: TransformConfig,
    NodeKind.CONDITION: ConditionConfig,
    NodeKind.DELAY: DelayConfig,
    NodeKind.WAIT_FOR_SIGNAL: WaitForSignalConfig,
    NodeKind.SUB_WORKFLOW: SubWorkflowConfig,
    NodeKind.FOR_EACH: ForEachConfig,
    NodeKind.NOOP: NoopConfig,
}
LEGACY_KEYS = {NodeKind.SUB_WORKFLOW: {"workflow_id"}}
TEMPLATE = "{{ input.value }}"
WRONG_TYPE_VALUE = {
    "string": 12,
    "integer": "twelve",
    "number": "twelve",
    "boolean": "yes",
    "object": ["not", "an", "object"],
    "array": {"not": "a list"},
}


def reader_problems(kind: NodeKind, config: dict[str, Any]) -> list[tuple[str, str]]:
    _, problems = parse_node_config(kind, config, PATH)
    return [(problem.code, problem.path) for problem in problems]


def schema_accepts(kind: NodeKind, config: dict[str, Any]) -> bool:
    return _valid(builtin_config_schema(kind), config)


def property_accepts(kind: NodeKind, name: str, value: Any) -> bool:
    return _valid(builtin_config_schema(kind)["properties"][name], value)


def _valid(schema: dict[str, Any], value: Any) -> bool:
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return bool(validator.is_valid(value))


def example(kind: NodeKind) -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[str(kind)])


def top_level_fields() -> list[tuple[NodeKind, ConfigField]]:
    return [(kind, item) for kind in KINDS for item in CONFIG_SHAPES[kind].fields]


def field_id(case: tuple[NodeKind, ConfigField]) -> str:
    return f"{case[0]}.{case[1].name}"


def fields_where(keep: Any) -> Any:
    """A parametrize mark over the kinds' top-level fields that `keep` selects."""
    chosen = [case for case in top_level_fields() if keep(case[1])]
    return pytest.mark.parametrize(("kind", "field"), chosen, ids=[field_id(c) for c in chosen])


def with_field(kind: NodeKind, name: str, value: Any) -> dict[str, Any]:
    """The kind's example with `name` set, and any field that excludes it left out."""
    config = example(kind)
    exclusive = {
        "seconds": "until",
        "until": "seconds",
        "json": "body",
        "body": "json",
        "workflow_id": "workflow",
    }
    config.pop(exclusive.get(name, ""), None)
    config[name] = value
    return config


# ---- The published schemas ------------------------------------------------------------


def test_every_built_in_kind_is_described_and_published() -> None:
    assert set(CONFIG_SHAPES) == set(BUILTIN_KINDS)
    assert {description.name for description in BUILTIN_DESCRIPTIONS} == {
        str(kind) for kind in BUILTIN_KINDS
    }
    for description in BUILTIN_DESCRIPTIONS:
        assert description.config_schema == builtin_config_schema(NodeKind(description.name))
        assert description.example is not None


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_schema_is_a_closed_object_schema_as_pydantic_shapes_it(kind: NodeKind) -> None:
    schema = builtin_config_schema(kind)

    assert jsonschema_rs.meta.is_valid(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["title"].endswith("Config")
    assert set(schema.get("required", [])) <= set(schema["properties"])
    for name, property_schema in schema["properties"].items():
        assert property_schema["title"], name
        assert property_schema["description"].endswith("."), name


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_the_schema_properties_are_the_keys_the_reader_accepts(kind: NodeKind) -> None:
    schema = builtin_config_schema(kind)
    config_type = CONFIG_TYPES[kind]

    assert list(schema["properties"]) == list(CONFIG_SHAPES[kind].names)
    declared = {item.name for item in fields(config_type)} | LEGACY_KEYS.get(kind, set())
    assert set(schema["properties"]) == declared
    for name in schema["properties"]:
        assert ("unknown_field", f"{PATH}.{name}") not in reader_problems(kind, {name: None})


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_keys_of_other_kinds_and_unknown_keys_are_refused_by_both(kind: NodeKind) -> None:
    own = set(CONFIG_SHAPES[kind].names)
    others = {name for shape in CONFIG_SHAPES.values() for name in shape.names} - own

    for name in sorted(others | {"not_a_field"}):
        config = {**example(kind), name: "x"}
        assert ("unknown_field", f"{PATH}.{name}") in reader_problems(kind, config), name
        assert not schema_accepts(kind, config), name


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_example_is_valid_under_the_reader_and_the_schema(kind: NodeKind) -> None:
    assert reader_problems(kind, example(kind)) == []
    assert schema_accepts(kind, example(kind))


# ---- Field by field ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_required_fields_match(kind: NodeKind) -> None:
    schema = builtin_config_schema(kind)

    assert schema.get("required", []) == list(CONFIG_SHAPES[kind].required)
    for name in schema.get("required", []):
        config = example(kind)
        del config[name]
        assert ("invalid_config", f"{PATH}.{name}") in reader_problems(kind, config), name
        assert not schema_accepts(kind, config), name


@fields_where(lambda field: not field.required)
def test_an_optional_field_may_be_left_out_or_null_under_both(
    kind: NodeKind, field: ConfigField
) -> None:
    left_out = example(kind)
    left_out.pop(field.name, None)
    if kind == NodeKind.DELAY and field.name == "seconds":
        left_out["until"] = "2030-01-31T09:00:00Z"  # a delay needs one of the two
    nulled = {**left_out, field.name: None}

    for config in (left_out, nulled):
        assert reader_problems(kind, config) == []
        assert schema_accepts(kind, config)


@fields_where(lambda field: field.types)
def test_a_value_of_the_wrong_type_is_refused_by_both(kind: NodeKind, field: ConfigField) -> None:
    wrong = [WRONG_TYPE_VALUE[json_type] for json_type in WRONG_TYPE_VALUE]
    for value in wrong:
        if _json_type(value) in field.types or (
            _json_type(value) == "integer" and "number" in field.types
        ):
            continue
        config = with_field(kind, field.name, value)
        assert reader_problems(kind, config), (field.name, value)
        assert not schema_accepts(kind, config), (field.name, value)


@fields_where(lambda field: {"integer", "number"} & set(field.types))
def test_bounds_agree(kind: NodeKind, field: ConfigField) -> None:
    step = 1 if "integer" in field.types else 0.5
    inside: list[float] = []
    outside: list[float] = []
    if field.minimum is not None:
        inside.append(field.minimum)
        outside.append(field.minimum - step)
    if field.exclusive_minimum is not None:
        inside.append(field.exclusive_minimum + step)
        outside.append(field.exclusive_minimum)
    if field.maximum is not None:
        inside.append(field.maximum)
        outside.append(field.maximum + step)

    for value in inside:
        config = with_field(kind, field.name, _as_json_number(value, field))
        assert reader_problems(kind, config) == [], value
        assert schema_accepts(kind, config), value
    for value in outside:
        config = with_field(kind, field.name, _as_json_number(value, field))
        assert reader_problems(kind, config) == [(("invalid_config", f"{PATH}.{field.name}"))]
        assert not schema_accepts(kind, config), value


# In objects and lists a template stands for a value inside, not for the whole.
@fields_where(lambda field: field.types and not {"object", "array"} & set(field.types))
def test_templates_are_taken_where_the_description_says_under_both(
    kind: NodeKind, field: ConfigField
) -> None:
    config = with_field(kind, field.name, TEMPLATE)

    if field.template:
        assert reader_problems(kind, config) == []
        assert property_accepts(kind, field.name, TEMPLATE)
        # The older workflow_id is read, but the schema asks for workflow (see below).
        assert schema_accepts(kind, config) or field.deprecated
    else:
        assert reader_problems(kind, config) != []
        assert not schema_accepts(kind, config)


@fields_where(lambda field: field.enum)
def test_enums_agree(kind: NodeKind, field: ConfigField) -> None:
    for choice in field.enum:
        assert reader_problems(kind, with_field(kind, field.name, choice)) == []
        assert schema_accepts(kind, with_field(kind, field.name, choice))
    config = with_field(kind, field.name, "NOT-A-CHOICE")
    assert reader_problems(kind, config) == [("invalid_config", f"{PATH}.{field.name}")]
    assert not schema_accepts(kind, config)


def test_the_older_workflow_id_is_read_but_the_schema_asks_for_workflow() -> None:
    older = {"workflow_id": "wf_123"}

    assert reader_problems(NodeKind.SUB_WORKFLOW, older) == []
    assert builtin_config_schema(NodeKind.SUB_WORKFLOW)["properties"]["workflow_id"]["deprecated"]
    assert not schema_accepts(NodeKind.SUB_WORKFLOW, older)
    assert reader_problems(NodeKind.SUB_WORKFLOW, {**older, "workflow": "w"}) == [
        ("invalid_config", f"{PATH}.workflow_id")
    ]


def test_nested_descriptions_agree_for_condition_cases_and_http_details() -> None:
    bad = [
        (NodeKind.CONDITION, {"cases": []}, "cases"),
        (NodeKind.CONDITION, {"cases": [{"when": "a"}]}, "cases[0].if"),
        (NodeKind.CONDITION, {"cases": [{"when": "a", "if": "x", "then": 1}]}, "cases[0].then"),
        (NodeKind.CONDITION, {"cases": [{"when": "9a", "if": "x"}]}, "cases[0].when"),
        (NodeKind.CONDITION, {"cases": [{"when": "a", "if": "x"}], "default": "a b"}, "default"),
        (NodeKind.HTTP_REQUEST, {"url": "https://x.test", "headers": {"A": 1}}, "headers.A"),
        (NodeKind.HTTP_REQUEST, {"url": "https://x.test", "retry_on_status": [200]}, ""),
    ]
    for kind, config, where in bad:
        paths = [path for _, path in reader_problems(kind, config)]
        assert any(path.startswith(f"{PATH}.{where}") for path in paths), config
        assert not schema_accepts(kind, config), config
    templated_status = {"url": "https://x.test", "retry_on_status": [409, TEMPLATE]}
    assert reader_problems(NodeKind.HTTP_REQUEST, templated_status) == []
    assert schema_accepts(NodeKind.HTTP_REQUEST, templated_status)


def test_defaults_published_are_the_ones_the_reader_fills_in() -> None:
    http = parse_node_config(NodeKind.HTTP_REQUEST, {"url": "https://x.test"}, PATH)[0]
    ai = parse_node_config(NodeKind.AI_PROMPT, {"model": "m", "prompt": "p"}, PATH)[0]
    each = parse_node_config(NodeKind.FOR_EACH, {"items": [1], "workflow": "w"}, PATH)[0]
    read = {
        NodeKind.HTTP_REQUEST: http,
        NodeKind.AI_PROMPT: ai,
        NodeKind.FOR_EACH: each,
    }
    checked: set[str] = set()
    for kind, config in read.items():
        for name, property_schema in builtin_config_schema(kind)["properties"].items():
            if "default" in property_schema:
                value = getattr(config, name)
                expected = property_schema["default"]
                assert (list(value) if isinstance(value, tuple) else value) == expected, name
                checked.add(f"{kind}.{name}")
    # The schemas publish defaults at all, so the loop above checked something.
    assert {"http_request.method", "for_each.parallelism"} <= checked


def _json_type(value: Any) -> str:
    kinds = {str: "string", bool: "boolean", int: "integer", dict: "object", list: "array"}
    return kinds[type(value)]


def _as_json_number(value: float, field: ConfigField) -> float | int:
    return int(value) if "integer" in field.types else value
