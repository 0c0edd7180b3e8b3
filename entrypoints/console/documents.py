"""The definition editor's text: JSON or YAML in, a document out, and where a path is.

Validation problems name a path (`edges[0].to`); to put each one next to the line it
is about, the text is composed again as a YAML node tree (JSON is YAML too), whose
nodes remember their line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@dataclass(frozen=True)
class ReadText:
    document: Any
    syntax_error: str | None = None
    """Set when the text is neither JSON nor YAML; then `document` is None."""


def read_definition_text(text: str) -> ReadText:
    """Parse the editor's text: JSON when it looks like JSON, otherwise YAML."""
    stripped = text.strip()
    if not stripped:
        return ReadText(None, "the definition is empty: write its nodes and edges")
    if stripped.startswith(("{", "[")):
        try:
            return ReadText(json.loads(stripped))
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            return ReadText(None, f"this is not valid JSON ({where}): {error.msg}")
    try:
        return ReadText(yaml.safe_load(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "unreadable"
        return ReadText(None, f"this is not valid YAML{where}: {problem}")


def path_parts(path: str) -> list[str | int]:
    """`nodes[2].config.url` -> ["nodes", 2, "config", "url"]."""
    return [int(index) if index else key for index, key in _PATH_PART.findall(path)]


def line_of_path(text: str, path: str) -> int | None:
    """The 1-based line of the deepest part of `path` found in `text`, or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in path_parts(path):
        found = _child(node, part)
        if found is None:
            break
        node = found
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                child: yaml.Node = value
                return child
    return None


def as_editor_text(document: Any) -> str:
    """A stored document as the editor shows it: indented JSON."""
    return json.dumps(document, indent=2, ensure_ascii=False)
