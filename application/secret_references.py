"""Which secrets a template names, and whether it touches `secrets` at all (read statically).

The engine loads only the secrets a node's templates name. Whether a template touches
`secrets` in any way (a literal name, a dynamic lookup such as `secrets[input.name]`, a
loop over it) decides whether what it renders is sensitive as a whole.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from domain.problems import is_template

SECRETS_VARIABLE = "secrets"

# Parsing only: the syntax is Jinja's default, as in the sandbox that renders.
_PARSER = Environment()


def template_secret_names(value: Any) -> set[str]:
    """Names read as ``secrets.NAME`` or ``secrets['NAME']`` by the templates inside ``value``.

    Only literal names are found: a dynamic lookup such as ``secrets[input.name]`` is not.
    """
    return {name for source in _template_strings(value) for name in _secret_names_in(source)}


def expression_secret_names(expression: str) -> set[str]:
    """Like template_secret_names, for one bare expression such as a condition's ``if``."""
    return set(_secret_names_in("{{ " + expression + " }}"))


@functools.lru_cache(maxsize=4096)
def reads_secrets(source: str) -> bool:
    """Whether the template ``source`` refers to ``secrets`` in any way.

    A template that cannot be parsed counts as reading them: its error message must not
    quote what it rendered.
    """
    if SECRETS_VARIABLE not in source:
        return False
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError:
        return True
    return any(_is_secrets(node) for node in tree.find_all(nodes.Name))


def templates_reading_secrets(value: Any) -> bool:
    """Whether any template inside ``value`` refers to ``secrets``."""
    return any(reads_secrets(source) for source in _template_strings(value))


def _template_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if is_template(value):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _template_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _template_strings(item)


@functools.lru_cache(maxsize=4096)
def _secret_names_in(source: str) -> frozenset[str]:
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError:
        return frozenset()  # rendering reports the error; there is nothing to load
    names = {node.attr for node in tree.find_all(nodes.Getattr) if _is_secrets(node.node)}
    for node in tree.find_all(nodes.Getitem):
        key = node.arg
        if _is_secrets(node.node) and isinstance(key, nodes.Const) and isinstance(key.value, str):
            names.add(key.value)
    return frozenset(names)


def _is_secrets(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == SECRETS_VARIABLE
