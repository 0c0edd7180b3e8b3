"""The sandbox that evaluates workflow templates: Jinja's immutable sandbox, tuned for JSON
data, guarded against runaway arithmetic, with the filters the expression language adds
and the context variables that name themselves in error messages."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import object_type_repr

from application import secret_taint
from application.secret_references import SECRETS_VARIABLE

# Without these caps a one-line template could pin a worker's CPU or memory.
MAX_POWER_BITS = 100_000
MAX_REPEATED_LENGTH = 1_000_000
_MAX_LISTED_KEYS = 10


class NamedMapping(dict[str, Any]):
    """A top-level context variable that knows its name, for error messages."""

    # The underscore keeps the label out of templates: the sandbox refuses such names.
    __slots__ = ("_label",)

    def __init__(self, label: str, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self._label = label


class SecretMapping(NamedMapping):
    """The `secrets` variable: notes every read of a value, so outputs computed from one
    are known to be sensitive (see `application.secret_taint`)."""

    __slots__ = ()

    def __init__(self, items: Mapping[str, Any]) -> None:
        super().__init__(SECRETS_VARIABLE, items)

    def __getitem__(self, key: str) -> Any:
        secret_taint.note_read()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        secret_taint.note_read()
        return super().get(key, default)

    def values(self) -> Any:
        secret_taint.note_read()
        return super().values()

    def items(self) -> Any:
        secret_taint.note_read()
        return super().items()

    def copy(self) -> dict[str, Any]:
        secret_taint.note_read()
        return dict(super().items())


class _StrictUndefined(StrictUndefined):
    """Fails on any use, naming the variable and the keys that do exist."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        container = self._undefined_obj
        if self._undefined_hint is not None or not isinstance(container, Mapping):
            return super()._undefined_message
        owner = object_type_repr(container)
        if isinstance(container, NamedMapping):
            owner = container._label
        name = self._undefined_name
        missing = f"attribute {name!r}" if isinstance(name, str) else f"element {name!r}"
        keys = [str(key) for key in container][:_MAX_LISTED_KEYS]
        more = ", ..." if len(container) > _MAX_LISTED_KEYS else ""
        listed = f"available: {', '.join(keys)}{more}" if keys else "it is empty"
        return f"{owner!r} has no {missing} ({listed})"


class WorkflowSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, tuned for JSON data and guarded against runaway arithmetic."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Workflow data is JSON: `output.items` must mean the key, not dict.items.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
            return left**right
        _check_repetition(left, right)
        return left * right


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int) and exponent > 0):
        return
    if exponent * abs(base).bit_length() > MAX_POWER_BITS:
        raise SecurityError(f"the power {base} ** {exponent} is too large")


def _check_repetition(left: Any, right: Any) -> None:
    for sequence, count in ((left, right), (right, left)):
        repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
        if repeats and len(sequence) * count > MAX_REPEATED_LENGTH:
            raise SecurityError("repeating a sequence this many times is not allowed")


def _tojson(value: Any, indent: int | None = None) -> str:
    # Plain JSON: Jinja's own tojson escapes <, >, & and ' for HTML, which would
    # change request bodies (and break signatures computed over them).
    return json.dumps(value, indent=indent, ensure_ascii=False)


def _fromjson(value: str) -> Any:
    return json.loads(value)


def _b64encode(value: str | bytes, urlsafe: bool = False) -> str:
    raw = value.encode() if isinstance(value, str) else value
    encoded = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
    return encoded.decode("ascii")


def _b64decode(value: str | bytes, urlsafe: bool = False) -> str:
    decoded = base64.urlsafe_b64decode(value) if urlsafe else base64.b64decode(value)
    return decoded.decode()


def build_environment() -> WorkflowSandbox:
    environment = WorkflowSandbox(
        undefined=_StrictUndefined, autoescape=False, finalize=secret_taint.finalize
    )
    environment.filters.update(
        tojson=_tojson, fromjson=_fromjson, b64encode=_b64encode, b64decode=_b64decode
    )
    # lipsum is random text: a re-evaluated template must give the same result.
    environment.globals.pop("lipsum", None)
    return environment
