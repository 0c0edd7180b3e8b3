"""Reading the fields of one JSON object while collecting every problem instead of stopping."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from domain.config_fields import ConfigField
from domain.problems import (
    MAX_DURATION_SECONDS,
    Problem,
    is_json_value,
    is_number,
    is_template,
    join_path,
    show,
)


class FieldReader:
    """Reads typed fields out of one JSON object, recording a `Problem` for each bad one.

    `invalid_code` is the code for a value of the wrong type or out of range, and
    `missing_code` the code for an absent required field. With `templates=True` a
    string holding template syntax (`{{` or `{%`) is accepted, and returned as is,
    wherever a scalar is expected: node config is rendered just before its node runs,
    then read again.
    A field set to `null` counts as not given.
    """

    def __init__(
        self,
        raw: Mapping[str, Any],
        path: str,
        invalid_code: str,
        *,
        missing_code: str = "missing_field",
        templates: bool = False,
        problems: list[Problem] | None = None,
    ) -> None:
        self.raw = raw
        self.base = path
        self.invalid_code = invalid_code
        self.missing_code = missing_code
        self.templates = templates
        self.problems: list[Problem] = [] if problems is None else problems

    def path(self, key: str) -> str:
        return join_path(self.base, key)

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def report(self, key: str, message: str, code: str | None = None) -> None:
        self.problems.append(Problem(code or self.invalid_code, self.path(key), message))

    def reject_unknown(self, allowed: Collection[str]) -> None:
        for key in self.raw:
            if key not in allowed:
                expected = ", ".join(sorted(allowed)) or "no fields"
                self.problems.append(
                    Problem(
                        "unknown_field",
                        self.path(str(key)),
                        f"Remove the unknown field {str(key)!r}; expected {expected}.",
                    )
                )

    def require(self, key: str) -> bool:
        """Report `key` as missing unless it is given; say whether it is."""
        if self.has(key):
            return True
        self.report(key, f"Add the required field {key!r}.", self.missing_code)
        return False

    def read(self, field: ConfigField) -> Any:
        """The value of a field of a single JSON type (or of any JSON value), checked as its
        description says; the field's default when it is not given.

        Fields of several types, and checks a description cannot say, are read by their
        kind's parser with the methods below."""
        templates = self.templates and field.template
        if not field.types:
            return self._any_json(field)
        if field.types == ("string",):
            return self._string(field, templates)
        if field.required and not self.require(field.name):
            return None
        if field.types == ("integer",):
            value: Any = self.integer(
                field.name,
                minimum=_whole(field.minimum),
                maximum=_whole(field.maximum),
                templates=templates,
            )
        elif field.types == ("number",):
            value = self.number(
                field.name,
                above=field.exclusive_minimum,
                minimum=field.minimum,
                maximum=field.maximum,
                templates=templates,
            )
        elif field.types == ("boolean",):
            value = self.flag(field.name, bool(field.default), templates=templates)
        elif field.types == ("object",):
            value = self.mapping(field.name)
        else:
            raise ValueError(f"{field.name} is not a field FieldReader.read can check")
        return _default(field) if value is None else value

    def _any_json(self, field: ConfigField) -> Any:
        # Here `null` is a value, so a required field is missing only when absent.
        if field.required and field.name not in self.raw:
            self.report(field.name, f"Add the required field {field.name!r}.", self.missing_code)
            return None
        return self.json(field.name)

    def _string(self, field: ConfigField, templates: bool) -> str | None:
        value = self.text(field.name, required=field.required, allow_empty=not field.min_length)
        if value is None:
            default: str | None = _default(field)
            return default
        if field.enum and value not in field.enum and not (templates and is_template(value)):
            self.report(
                field.name, f"{field.name} must be {_either(field.enum)}, not {show(value)}."
            )
        return value

    def text(self, key: str, *, required: bool = False, allow_empty: bool = False) -> str | None:
        """A string, non-blank unless `allow_empty`."""
        if not self.has(key):
            if required:
                self.require(key)
            return None
        value = self.raw[key]
        if isinstance(value, str) and (allow_empty or value.strip()):
            return value
        wanted = "a string" if allow_empty else "a non-empty string"
        self.report(key, f"{key} must be {wanted}, not {show(value)}.")
        return None

    def number(
        self,
        key: str,
        *,
        above: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        code: str | None = None,
        templates: bool | None = None,
    ) -> float | str | None:
        """A finite number within the given bounds (`above` is exclusive), or a template
        (unless `templates` overrides the reader's say for this field)."""
        if not self.has(key):
            return None
        value = self.raw[key]
        if self._takes_template(value, templates):
            return str(value)
        if is_number(value) and _within(value, above, minimum, maximum):
            return float(value)
        wanted = _describe("a number", above, minimum, maximum)
        self.report(key, f"{key} must be {wanted}, not {show(value)}.", code)
        return None

    def duration(self, key: str, *, code: str | None = None) -> float | str | None:
        """A number of seconds greater than zero (and below ten years), or a template."""
        return self.number(key, above=0, maximum=MAX_DURATION_SECONDS, code=code)

    def integer(
        self,
        key: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        code: str | None = None,
        templates: bool | None = None,
    ) -> int | str | None:
        """A whole number within the given (inclusive) bounds, or a template (unless
        `templates` overrides the reader's say for this field)."""
        if not self.has(key):
            return None
        value = self.raw[key]
        if self._takes_template(value, templates):
            return str(value)
        if _is_integer(value) and _within(value, None, minimum, maximum):
            return int(value)
        wanted = _describe("an integer", None, minimum, maximum)
        self.report(key, f"{key} must be {wanted}, not {show(value)}.", code)
        return None

    def flag(self, key: str, default: bool, *, templates: bool | None = None) -> bool | str:
        """true or false, or a template (unless `templates` overrides the reader's say)."""
        if not self.has(key):
            return default
        value = self.raw[key]
        if isinstance(value, bool):
            return value
        if self._takes_template(value, templates):
            return str(value)
        self.report(key, f"{key} must be true or false, not {show(value)}.")
        return default

    def _takes_template(self, value: object, templates: bool | None) -> bool:
        accepted = self.templates if templates is None else templates
        return accepted and is_template(value)

    def mapping(self, key: str) -> dict[str, Any] | None:
        """A JSON object."""
        if not self.has(key):
            return None
        value = self.raw[key]
        if isinstance(value, dict) and is_json_value(value):
            return value
        self.report(key, f"{key} must be a JSON object, not {show(value)}.")
        return None

    def json(self, key: str) -> Any:
        """Any JSON value, `null` included."""
        value = self.raw.get(key)
        if is_json_value(value):
            return value
        self.report(key, f"{key} must be a JSON value, not {show(value)}.")
        return None


def _within(
    value: float, above: float | None, minimum: float | None, maximum: float | None
) -> bool:
    return (
        (above is None or value > above)
        and (minimum is None or value >= minimum)
        and (maximum is None or value <= maximum)
    )


def _describe(noun: str, above: float | None, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{noun} from {_plain(minimum)} to {_plain(maximum)}"
    lower = ""
    if above is not None:
        lower = f" greater than {_plain(above)}"
    elif minimum is not None:
        lower = f" of at least {_plain(minimum)}"
    upper = "" if maximum is None else f"{' and' if lower else ''} at most {_plain(maximum)}"
    return noun + lower + upper


def _plain(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _default(field: ConfigField) -> Any:
    """A fresh copy of the field's default, so that no two configs share a list or dict."""
    return copy.deepcopy(field.default)


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


def _either(choices: tuple[str, ...]) -> str:
    """'a' or 'b'; one of 'a', 'b', 'c'."""
    if len(choices) == 2:
        return f"{choices[0]!r} or {choices[1]!r}"
    return "one of " + ", ".join(repr(choice) for choice in choices)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
