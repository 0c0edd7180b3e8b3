"""The safe template and expression language of node configs (Jinja2 in a sandbox).

Templates are evaluated just before a node runs, over a context built from persisted
state only: ``input``, ``nodes.<id>.output``, ``execution`` and ``secrets.<NAME>``.
Every failure becomes a ``domain.errors.ExpressionError`` naming the node and the
template text, never the rendered values.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import object_type_repr

from application import secret_taint
from application.redaction import REDACTED, redact
from application.secret_references import SECRETS_VARIABLE, is_template, reads_secrets
from application.secret_taint import SecretReads, string_leaves
from domain.errors import ExpressionError

# Without these caps a one-line template could pin a worker's CPU or memory.
MAX_POWER_BITS = 100_000
MAX_REPEATED_LENGTH = 1_000_000
_MAX_QUOTED_TEMPLATE = 200
_MAX_LISTED_KEYS = 10

_SINGLE_EXPRESSION = re.compile(r"\A\s*\{\{-?(?P<expr>.*?)-?\}\}\s*\Z", re.DOTALL)

Path = tuple[str | int, ...]


class _NamedMapping(dict[str, Any]):
    """A top-level context variable that knows its name, for error messages."""

    # The underscore keeps the label out of templates: the sandbox refuses such names.
    __slots__ = ("_label",)

    def __init__(self, label: str, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self._label = label


class _SecretMapping(_NamedMapping):
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
        if isinstance(container, _NamedMapping):
            owner = container._label
        name = self._undefined_name
        missing = f"attribute {name!r}" if isinstance(name, str) else f"element {name!r}"
        keys = [str(key) for key in container][:_MAX_LISTED_KEYS]
        more = ", ..." if len(container) > _MAX_LISTED_KEYS else ""
        listed = f"available: {', '.join(keys)}{more}" if keys else "it is empty"
        return f"{owner!r} has no {missing} ({listed})"


class _WorkflowSandbox(ImmutableSandboxedEnvironment):
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


def _build_environment() -> _WorkflowSandbox:
    environment = _WorkflowSandbox(
        undefined=_StrictUndefined, autoescape=False, finalize=secret_taint.finalize
    )
    environment.filters.update(
        tojson=_tojson, fromjson=_fromjson, b64encode=_b64encode, b64decode=_b64decode
    )
    # lipsum is random text: a re-evaluated template must give the same result.
    environment.globals.pop("lipsum", None)
    return environment


_ENV = _build_environment()


@functools.lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Template:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> TemplateExpression:
    return _ENV.compile_expression(source, undefined_to_none=False)


@functools.lru_cache(maxsize=4096)
def _single_expression(source: str) -> str | None:
    """The inner expression when ``source`` is exactly one ``{{ ... }}``, else None."""
    match = _SINGLE_EXPRESSION.match(source)
    if match is None:
        return None
    try:
        body = _ENV.parse(source.strip()).body
    except TemplateSyntaxError:
        return None  # rendering it as a template reports the error
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    return None if isinstance(body[0].nodes[0], nodes.TemplateData) else match.group("expr")


def render(value: Any, context: Mapping[str, Any], *, node_id: str) -> Any:
    """Render every template inside ``value`` (dicts and lists recursively, keys untouched)."""
    return render_tracked(value, context, node_id=node_id).value


@dataclass(frozen=True)
class Rendered:
    """A rendered value, with what in it came from secrets.

    ``sensitive_paths`` are the fields rendered from a template that refers to ``secrets``:
    each is sensitive as a whole, whatever filters ran. ``sensitive_texts`` are the texts
    computed from a secret (each output after a secret read, and each sensitive field's
    rendered text), to scrub from whatever is produced with this value.
    """

    value: Any
    sensitive_paths: frozenset[Path]
    sensitive_texts: frozenset[str]

    def masked(self) -> Any:
        """The value with every sensitive field replaced by the redaction marker."""
        return _mask(self.value, self.sensitive_paths, ())


def render_tracked(value: Any, context: Mapping[str, Any], *, node_id: str) -> Rendered:
    """Like `render`, following secrets through the templates (see `Rendered`)."""
    reads = SecretReads()
    paths: set[Path] = set()
    token = secret_taint.tracking(reads)
    try:
        rendered = _render(value, _variables(context), node_id, (), paths, reads)
    finally:
        secret_taint.stop(token)
    return Rendered(rendered, frozenset(paths), frozenset(reads.texts))


def _mask(value: Any, paths: frozenset[Path], path: Path) -> Any:
    if path in paths:
        return REDACTED
    if isinstance(value, Mapping):
        return {key: _mask(item, paths, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, paths, (*path, i)) for i, item in enumerate(value)]
    return value


def _variables(context: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _variable(name, value) if isinstance(value, Mapping) else value
        for name, value in context.items()
    }


def _variable(name: str, value: Mapping[str, Any]) -> _NamedMapping:
    return _SecretMapping(value) if name == SECRETS_VARIABLE else _NamedMapping(name, value)


def _render(
    value: Any,
    context: dict[str, Any],
    node_id: str,
    path: Path,
    paths: set[Path],
    reads: SecretReads,
) -> Any:
    if isinstance(value, str):
        if not is_template(value):
            return value
        rendered = _render_string(value, context, node_id, path)
        if reads_secrets(value):
            paths.add(path)
            reads.texts.update(string_leaves(rendered))
        reads.pending = False
        return rendered
    if isinstance(value, Mapping):
        return {
            key: _render(item, context, node_id, (*path, key), paths, reads)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _render(item, context, node_id, (*path, i), paths, reads)
            for i, item in enumerate(value)
        ]
    return value


def _render_string(source: str, context: dict[str, Any], node_id: str, path: Path) -> Any:
    try:
        expression = _single_expression(source)
        if expression is not None:
            return _to_plain(_compiled_expression(expression)(context))
        return _compiled_template(source).render(context)
    except Exception as error:
        raise _expression_error(node_id, source, path, error, context) from None


def evaluate(expression: str, context: Mapping[str, Any], *, node_id: str) -> Any:
    """Evaluate one bare expression (as in a condition's ``if``); ``{{ }}`` around it is allowed."""
    variables = _variables(context)
    try:
        inner = _single_expression(expression)
        return _to_plain(_compiled_expression(expression if inner is None else inner)(variables))
    except Exception as error:
        raise _expression_error(node_id, expression, (), error, variables) from None


def _to_plain(value: Any) -> Any:
    """Turn an expression's result into plain data, failing on any undefined part."""
    if isinstance(value, Undefined):
        str(value)  # a strict undefined raises its own precise error here
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _to_plain(item) for key, item in value.items()}
    # Tuples, dict views, ranges and the generators of filters like map() become lists.
    if isinstance(value, list | tuple | range | Iterator) or _is_dict_view(value):
        return [_to_plain(item) for item in value]
    return value


def _is_dict_view(value: Any) -> bool:
    return isinstance(value, type({}.keys()) | type({}.values()) | type({}.items()))


def _expression_error(
    node_id: str, source: str, path: Path, error: Exception, context: Mapping[str, Any]
) -> ExpressionError:
    quoted = source if len(source) <= _MAX_QUOTED_TEMPLATE else source[:_MAX_QUOTED_TEMPLATE] + "…"
    where = f" at {_format_path(path)}" if path else ""
    reason = _describe(error)
    if reads_secrets(source) and not isinstance(error, TemplateSyntaxError):
        # The error's text may quote a value computed from a secret in a form no
        # string matching would recognise: say what failed, not with what.
        reason = f"{type(error).__name__} (details hidden: the template reads a secret)"
    message = f'node {node_id!r}: cannot evaluate "{quoted}"{where}: {reason}'
    return ExpressionError(redact(message, _secret_values(context)))


def _describe(error: Exception) -> str:
    if isinstance(error, TemplateSyntaxError):
        return f"syntax error on line {error.lineno}: {error.message}"
    detail = str(error)
    return detail if detail else type(error).__name__


def _format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _secret_values(context: Mapping[str, Any]) -> list[str]:
    secrets = context.get(SECRETS_VARIABLE)
    if not isinstance(secrets, Mapping):
        return []
    # Read past the tracking mapping: quoting an error is not a template reading a secret.
    values: list[Any] = (
        list(dict.values(secrets)) if isinstance(secrets, dict) else list(secrets.values())
    )
    return [value for value in values if isinstance(value, str)]
