"""Declarative descriptions of the built-in node kinds' config documents.

Each built-in kind describes its config once, as a `ConfigShape` of `ConfigField`s. Both
the save-time field checks (`FieldReader.read`) and the JSON Schema that
`GET /api/v1/node-kinds` publishes (`domain.config_schema`) are derived from it, so the
two cannot drift apart. Rules that span fields, or that a schema cannot say, stay as code
in each kind's parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JsonType = Literal["string", "integer", "number", "boolean", "object", "array"]


@dataclass(frozen=True)
class ConfigField:
    """One key of a config document: what it holds, and the simple checks on its value.

    `types` are the JSON types it accepts (none: any JSON value, `null` included).
    `template` says whether a template string (`{{ ... }}` or `{% ... %}`) may stand for
    the value, as config is rendered just before its node runs; it matters for the
    published schema only where a plain string would not already be accepted.
    `min_length` 1 means a non-blank string. `exclusive_minimum` is a bound the value
    must be above. `items` describes an array's elements, `values` an object's values,
    and `properties` the keys of an object with fixed keys (none other allowed).
    A field that is not `required` may be `null`, which counts as not given; `default`
    is the value it then takes (None: no value).
    """

    name: str
    types: tuple[JsonType, ...]
    description: str
    title: str = ""
    required: bool = False
    default: Any = None
    template: bool = True
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    min_length: int | None = None
    format: str | None = None
    min_items: int | None = None
    items: ConfigField | None = None
    values: ConfigField | None = None
    properties: tuple[ConfigField, ...] = ()
    deprecated: bool = False

    @property
    def label(self) -> str:
        """The title a form shows: `title`, else the name in sentence case."""
        return self.title or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ConfigShape:
    """The whole config document of one kind: its fields, and nothing else allowed."""

    title: str
    fields: tuple[ConfigField, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every key the document may hold."""
        return tuple(item.name for item in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """The keys the document must hold."""
        return tuple(item.name for item in self.fields if item.required)
