"""The safe template and expression language of node configs (Jinja2 in a sandbox).

Templates are evaluated just before a node runs, over a context built from persisted
state only: ``input``, ``nodes.<id>.output``, ``execution`` and ``secrets.<NAME>``.
Every failure becomes a ``domain.errors.ExpressionError`` naming the node and the
template text, never the rendered values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.runtime import Undefined

from application import secret_taint
from application.expression_sandbox import NamedMapping, SecretMapping, build_environment
from application.redaction import REDACTED, redact
from application.secret_references import SECRETS_VARIABLE, reads_secrets
from application.secret_taint import SecretReads, string_leaves
from domain.errors import ExpressionError
from domain.problems import is_template

_MAX_QUOTED_TEMPLATE = 200

_SINGLE_EXPRESSION = re.compile(r"\A\s*\{\{-?(?P<expr>.*?)-?\}\}\s*\Z", re.DOTALL)

Path = tuple[str | int, ...]


_ENV = build_environment()


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


def check_template(source: str) -> nodes.Node:
    """The syntax tree of the config template ``source``, parsed and compiled as rendering
    does (one ``{{ ... }}`` alone as its expression); raises ``TemplateSyntaxError``
    (with ``lineno``) for what rendering would refuse before evaluating anything."""
    expression = _single_expression(source)
    if expression is not None:
        return check_expression(expression)
    _compiled_template(source)
    return _ENV.parse(source)


def check_expression(expression: str) -> nodes.Node:
    """Like `check_template`, for one bare expression as `evaluate` reads it."""
    inner = _single_expression(expression)
    source = expression if inner is None else inner
    _compiled_expression(source)
    # What `Environment.compile_expression` parses, kept as a tree to read.
    parser = Parser(_ENV, source, state="variable")
    return parser.parse_expression()


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


def _variable(name: str, value: Mapping[str, Any]) -> NamedMapping:
    return SecretMapping(value) if name == SECRETS_VARIABLE else NamedMapping(name, value)


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
