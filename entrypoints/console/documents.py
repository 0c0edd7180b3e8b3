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

from entrypoints.document_text import UnreadableDocument, read_json, read_yaml

# The C composer when libyaml is there: it keeps a large text's lines quick to find.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@dataclass(frozen=True)
class ReadText:
    document: Any
    syntax_error: str | None = None
    """Set when the text is neither JSON nor YAML, or breaks a bound; then `document` is None."""


def read_definition_text(text: str, max_size: int | None = None) -> ReadText:
    """Parse the editor's text: JSON when it looks like JSON, otherwise YAML (no aliases).

    Slow for a large YAML text (about a second a megabyte): call it off the event loop.
    """
    stripped = text.strip()
    if not stripped:
        return ReadText(None, "the definition is empty: write its nodes and edges")
    try:
        if stripped.startswith(("{", "[")):
            return ReadText(read_json(stripped, max_size))
        return ReadText(read_yaml(text, max_size))
    except UnreadableDocument as error:
        return ReadText(None, str(error))


def path_parts(path: str) -> list[str | int]:
    """`nodes[2].config.url` -> ["nodes", 2, "config", "url"]."""
    return [int(index) if index else key for index, key in _PATH_PART.findall(path)]


def lines_of_paths(text: str, paths: list[str]) -> list[int | None]:
    """The 1-based line of the deepest part of each path found in `text` (None: unknown).

    The text was read by `read_definition_text` already, so it has no aliases and a
    bounded depth; it is composed once for all the paths.
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return [None for _ in paths]
    return [None if root is None else _line_of_path(root, path) for path in paths]


def _line_of_path(node: yaml.Node, path: str) -> int:
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
