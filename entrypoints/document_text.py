"""Reading a document a person wrote, JSON or YAML, within the bounds of `document_limits`.

YAML aliases (`*name`) are refused: a few hundred bytes of nested aliases expand into
gigabytes once the document is walked. Before anything is built, one pass over the
parser's events (libyaml's, iterative) refuses an alias or nesting beyond the limit; the
document built afterwards can then be no larger than its text. The result is walked once
more for NUL characters, huge integers and its JSON size.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from application.document_limits import MAX_NESTING, first_refusal

# libyaml when it is there (about ten times faster); the pure-Python loader otherwise.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class UnreadableDocument(Exception):
    """The text is not JSON or YAML, or its document breaks a bound; `str()` says why."""


def read_json(text: str, max_size: int | None = None) -> Any:
    """The JSON document in `text`, within the bounds."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise UnreadableDocument(f"this is not valid JSON ({where}): {error.msg}") from None
    except RecursionError:
        raise UnreadableDocument(_too_deep()) from None
    return _within_bounds(document, max_size)


def read_yaml(text: str, max_size: int | None = None) -> Any:
    """The YAML document in `text`, within the bounds; aliases are refused."""
    try:
        _refuse_aliases_and_depth(text)
        document = yaml.load(text, Loader=_Loader)  # a safe loader: plain data only
    except yaml.YAMLError as error:
        raise UnreadableDocument(_yaml_problem(error)) from None
    except ValueError as error:  # a scalar that looks like a date but is none, say
        raise UnreadableDocument(f"this YAML holds a value that cannot be read: {error}") from None
    return _within_bounds(document, max_size)


def _refuse_aliases_and_depth(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise UnreadableDocument(
                f"this YAML uses an alias (*{event.anchor}){_at(event)}: aliases are not "
                "accepted; write the value out"
            )
        depth += isinstance(event, _OPENS) - isinstance(event, _CLOSES)
        if depth > MAX_NESTING:
            raise UnreadableDocument(_too_deep() + _at(event))


def _within_bounds(document: Any, max_size: int | None) -> Any:
    refusal = first_refusal(document, max_size=max_size)
    if refusal is not None:
        where = f"at {refusal.path}: " if refusal.path else ""
        raise UnreadableDocument(f"{where}{refusal.message}")
    return document


def _too_deep() -> str:
    return f"arrays and objects nest deeper than {MAX_NESTING} levels"


def _at(event: yaml.Event) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(error, "problem", None) or "unreadable"
    if "nesting depth" in problem:  # libyaml stops at its own depth (1000), beyond ours
        return _too_deep() + where
    return f"this is not valid YAML{where}: {problem}"
