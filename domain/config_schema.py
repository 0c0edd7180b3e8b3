"""The JSON Schema (draft 2020-12, shaped as pydantic emits it) of a config, derived from its
declarative description, for the console's forms and `GET /api/v1/node-kinds`."""

from __future__ import annotations

from typing import Any

from domain.config_fields import ConfigField, ConfigShape, JsonType

# A template in a field whose type is not a plain string: the schema then offers it as a
# second choice, after the field's own type (which a form edits).
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": "A template such as {{ input.count }}, rendered just before the node runs.",
}


def config_schema(shape: ConfigShape) -> dict[str, Any]:
    """The JSON Schema of a config document: an object with exactly `shape`'s fields."""
    return _object_schema(shape.fields, title=shape.title)


def property_schema(field: ConfigField) -> dict[str, Any]:
    """The schema of one key: its values (and `null` when it is optional), with its title,
    description and default (left out where there is none: a form would fill in `null`)."""
    accepted = accepted_schema(field)
    if not field.required and field.types:
        accepted = {"anyOf": [*_choices(accepted), {"type": "null"}]}
    schema = {**accepted, "title": field.label, "description": field.description}
    if field.default is not None:
        schema["default"] = field.default
    if field.deprecated:
        schema["deprecated"] = True
    return schema


def accepted_schema(field: ConfigField) -> dict[str, Any]:
    """The schema of the values `field` takes, `null` aside."""
    choices = [_typed_schema(field, json_type) for json_type in field.types]
    if field.template and _refuses_templates(field):
        choices.append(TEMPLATE_SCHEMA)
    if not choices:
        return {}
    return choices[0] if len(choices) == 1 else {"anyOf": choices}


def _choices(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return list(schema["anyOf"]) if set(schema) == {"anyOf"} else [schema]


def _refuses_templates(field: ConfigField) -> bool:
    """Whether a template string would fail the field's own schema."""
    if "string" not in field.types:
        return bool(field.types)
    return bool(field.enum or field.pattern or field.format)


def _typed_schema(field: ConfigField, json_type: JsonType) -> dict[str, Any]:
    if json_type == "string":
        return _string_schema(field)
    if json_type in ("integer", "number"):
        return _number_schema(field, json_type)
    if json_type == "array":
        return _array_schema(field)
    if json_type == "object":
        return _mapping_schema(field)
    return {"type": json_type}


def _string_schema(field: ConfigField) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if field.enum:
        schema["enum"] = list(field.enum)
    if field.pattern is not None:
        schema["pattern"] = field.pattern
    if field.min_length is not None:
        schema["minLength"] = field.min_length
    if field.format is not None:
        schema["format"] = field.format
    return schema


def _number_schema(field: ConfigField, json_type: JsonType) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": json_type}
    bounds = (
        ("minimum", field.minimum),
        ("exclusiveMinimum", field.exclusive_minimum),
        ("maximum", field.maximum),
    )
    for keyword, bound in bounds:
        if bound is not None:
            schema[keyword] = _plain(bound)
    return schema


def _array_schema(field: ConfigField) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array"}
    if field.items is not None:
        schema["items"] = accepted_schema(field.items)
    if field.min_items is not None:
        schema["minItems"] = field.min_items
    return schema


def _mapping_schema(field: ConfigField) -> dict[str, Any]:
    if field.properties:
        return _object_schema(field.properties)
    schema: dict[str, Any] = {"type": "object"}
    if field.values is not None:
        schema["additionalProperties"] = accepted_schema(field.values)
    return schema


def _object_schema(fields: tuple[ConfigField, ...], title: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {} if title is None else {"title": title}
    schema["type"] = "object"
    schema["properties"] = {item.name: property_schema(item) for item in fields}
    required = [item.name for item in fields if item.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _plain(bound: float) -> float | int:
    """A whole bound as an integer, as JSON people read it."""
    return int(bound) if float(bound).is_integer() else bound
