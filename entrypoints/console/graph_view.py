"""A workflow document (and optionally node statuses) as what the SVG template draws."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from entrypoints.console.graph_layout import (
    EdgePath,
    GraphEdge,
    Layout,
    LayoutSizes,
    layered_layout,
)
from entrypoints.console.presentation import shorten

LABEL_CHARS = 20
"""What fits on one line of a node of the standard width."""
LINE_CHARS = 24
"""What fits on one line of a wide node: a graph with a longer title gets wide, tall nodes
whose titles wrap onto two lines (then end in `…`; the whole title is the tooltip)."""
TITLE_LINES = 2
STANDARD = LayoutSizes()
ROOMY = LayoutSizes(node_width=212.0, node_height=70.0)
LINE_HEIGHT = 16


@dataclass(frozen=True)
class DrawnNode:
    id: str
    kind: str
    title: str
    x: float
    y: float
    width: float
    height: float
    status: str
    attempt: int

    @property
    def title_lines(self) -> list[str]:
        """The title as drawn: one line when it fits, else wrapped onto two (words kept
        whole where they can be)."""
        if len(self.title) <= LABEL_CHARS:
            return [self.title]
        return textwrap.wrap(self.title, LINE_CHARS, max_lines=TITLE_LINES, placeholder="…") or [
            self.title[: LINE_CHARS - 1] + "…"
        ]

    @property
    def meta_y(self) -> float:
        """The baseline of the kind or status line, at the foot of the box."""
        return self.y + self.height - 13

    @property
    def short_kind(self) -> str:
        return shorten(self.kind.replace("_", " "), LABEL_CHARS + 4)


@dataclass(frozen=True)
class DrawnGraph:
    nodes: list[DrawnNode]
    edges: tuple[EdgePath, ...]
    width: float
    height: float


def _nodes(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    nodes = document.get("nodes")
    if not isinstance(nodes, list):
        return []
    return [n for n in nodes if isinstance(n, Mapping) and isinstance(n.get("id"), str)]


def _edges(document: Mapping[str, Any]) -> list[GraphEdge]:
    edges = document.get("edges")
    found: list[GraphEdge] = []
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, Mapping) and isinstance(edge.get("from"), str):
            when = edge.get("when")
            found.append(GraphEdge(edge["from"], str(edge.get("to")), str(when) if when else None))
    return found


def draw_graph(
    document: Mapping[str, Any], runs: Mapping[str, tuple[str, int]] | None = None
) -> DrawnGraph:
    """Lay out `document`'s graph; `runs` maps node id to (status, attempt) when known."""
    nodes = _nodes(document)
    long_title = any(len(_title(n)) > LABEL_CHARS for n in nodes)
    sizes = ROOMY if long_title else STANDARD
    layout: Layout = layered_layout([n["id"] for n in nodes], _edges(document), sizes)
    by_id = {n["id"]: n for n in nodes}
    drawn = []
    for box in layout.nodes:
        node = by_id[box.id]
        status, attempt = (runs or {}).get(box.id, ("pending" if runs is not None else "", 0))
        title = _title(node)
        kind = str(node.get("kind", "?"))
        drawn.append(
            DrawnNode(box.id, kind, title, box.x, box.y, box.width, box.height, status, attempt)
        )
    return DrawnGraph(drawn, layout.edges, layout.width, layout.height)


def _title(node: Mapping[str, Any]) -> str:
    return str(node.get("name") or node["id"])
