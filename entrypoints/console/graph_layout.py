"""A layered (Sugiyama-style) layout of a workflow graph, computed in Python for SVG.

Pure: nodes and edges in, node boxes and edge paths out. Layers come from the longest
path from a start node, so every edge points left to right; an edge spanning several
layers goes through placeholder points, one per layer it crosses, which take part in
the ordering like nodes do. Each layer is then ordered by the barycentre of its
neighbours in the layer before (sweeping right) and after (sweeping left), keeping the
ordering with the fewest crossings seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

SWEEPS = 12

Slot = tuple[str, ...]
"""A position in a layer: `("node", id)` or `("via", edge index, layer)`."""


@dataclass(frozen=True)
class LayoutSizes:
    node_width: float = 176.0
    node_height: float = 52.0
    layer_gap: float = 72.0
    row_gap: float = 28.0
    margin: float = 16.0


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str | None = None


@dataclass(frozen=True)
class NodeBox:
    id: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class EdgePath:
    source: str
    target: str
    label: str | None
    d: str
    """An SVG path: cubic curves from the source's right side to the target's left side."""
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Layout:
    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgePath, ...]
    width: float
    height: float
    crossings: int


def layered_layout(
    node_ids: Sequence[str], edges: Sequence[GraphEdge], sizes: LayoutSizes = LayoutSizes()
) -> Layout:
    """Boxes for `node_ids` and paths for the `edges` between them (others are ignored)."""
    known = list(dict.fromkeys(node_ids))
    kept = [e for e in edges if e.source in known and e.target in known and e.source != e.target]
    forward = _acyclic(known, kept)
    layer_of = longest_path_layers(known, forward)
    layers, links, chains = _with_placeholders(known, forward, layer_of)
    layers = order_layers(layers, links)
    positions = _positions(layers, sizes)
    boxes = tuple(
        NodeBox(slot[1], index, row, *positions[slot], sizes.node_width, sizes.node_height)
        for index, layer in enumerate(layers)
        for row, slot in enumerate(layer)
        if slot[0] == "node"
    )
    paths = tuple(
        _edge_path(edge, chain, positions, sizes) for edge, chain in zip(kept, chains, strict=True)
    )
    width = 2 * sizes.margin + len(layers) * sizes.node_width + (len(layers) - 1) * sizes.layer_gap
    tallest = max((len(layer) for layer in layers), default=0)
    height = 2 * sizes.margin + tallest * sizes.node_height + max(tallest - 1, 0) * sizes.row_gap
    return Layout(boxes, paths, max(width, 0.0), height, count_crossings(layers, links))


def _acyclic(nodes: list[str], edges: list[GraphEdge]) -> list[tuple[str, str]]:
    """Edges as (from, to) pairs with any edge closing a cycle reversed (saved workflows are
    acyclic; a draft being previewed may not be)."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        successors[edge.source].append(edge.target)
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    pairs = [(e.source, e.target) for e in edges]
    return [(t, s) if (s, t) in back else (s, t) for s, t in pairs]


def longest_path_layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: 0 for nodes without predecessors, else one past the deepest one."""
    predecessors: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        predecessors[target].append(source)
    layer: dict[str, int] = {}

    def depth(node: str) -> int:
        pending = [node]
        while pending:
            current = pending[-1]
            missing = [p for p in predecessors[current] if p not in layer]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            layer[current] = max((layer[p] + 1 for p in predecessors[current]), default=0)
        return layer[node]

    for node in nodes:
        depth(node)
    return layer


def _with_placeholders(
    nodes: list[str], edges: list[tuple[str, str]], layer_of: dict[str, int]
) -> tuple[list[list[Slot]], list[tuple[Slot, Slot]], list[list[Slot]]]:
    """Layers of slots, the links between adjacent layers, and each edge's chain of slots."""
    count = max(layer_of.values(), default=-1) + 1
    layers: list[list[Slot]] = [[] for _ in range(count)]
    for node in nodes:
        layers[layer_of[node]].append(("node", node))
    links: list[tuple[Slot, Slot]] = []
    chains: list[list[Slot]] = []
    for index, (source, target) in enumerate(edges):
        chain: list[Slot] = [("node", source)]
        for between in range(layer_of[source] + 1, layer_of[target]):
            via: Slot = ("via", str(index), str(between))
            layers[between].append(via)
            chain.append(via)
        chain.append(("node", target))
        links.extend(itertools.pairwise(chain))
        chains.append(chain)
    return layers, links, chains


def order_layers(layers: list[list[Slot]], links: list[tuple[Slot, Slot]]) -> list[list[Slot]]:
    """Reorder each layer by the barycentre of its neighbours, sweeping both ways."""
    best = [list(layer) for layer in layers]
    fewest = count_crossings(best, links)
    current = [list(layer) for layer in layers]
    for sweep in range(SWEEPS):
        if fewest == 0:
            break
        rightwards = sweep % 2 == 0
        indices = range(1, len(current)) if rightwards else range(len(current) - 2, -1, -1)
        for index in indices:
            fixed = current[index - 1] if rightwards else current[index + 1]
            current[index] = _by_barycentre(current[index], fixed, links, rightwards)
        crossings = count_crossings(current, links)
        if crossings < fewest:
            best, fewest = [list(layer) for layer in current], crossings
    return best


def _by_barycentre(
    layer: list[Slot], fixed: list[Slot], links: list[tuple[Slot, Slot]], rightwards: bool
) -> list[Slot]:
    position = {slot: row for row, slot in enumerate(fixed)}
    neighbours: dict[Slot, list[int]] = {slot: [] for slot in layer}
    for source, target in links:
        mine, other = (target, source) if rightwards else (source, target)
        if mine in neighbours and other in position:
            neighbours[mine].append(position[other])

    def key(item: tuple[int, Slot]) -> float:
        row, slot = item
        found = neighbours[slot]
        # A slot with no neighbour over there keeps its place.
        return sum(found) / len(found) if found else float(row)

    return [slot for _, slot in sorted(enumerate(layer), key=key)]


def count_crossings(layers: Sequence[Sequence[Slot]], links: Sequence[tuple[Slot, Slot]]) -> int:
    """How many pairs of links between adjacent layers cross."""
    row = {slot: index for layer in layers for index, slot in enumerate(layer)}
    layer_of = {slot: index for index, layer in enumerate(layers) for slot in layer}
    by_gap: dict[int, list[tuple[int, int]]] = {}
    for source, target in links:
        by_gap.setdefault(layer_of[source], []).append((row[source], row[target]))
    total = 0
    for pairs in by_gap.values():
        for i, (a_from, a_to) in enumerate(pairs):
            for b_from, b_to in pairs[i + 1 :]:
                if (a_from - b_from) * (a_to - b_to) < 0:
                    total += 1
    return total


def _positions(layers: list[list[Slot]], sizes: LayoutSizes) -> dict[Slot, tuple[float, float]]:
    """Top-left corners; each layer is centred vertically against the tallest one."""
    tallest = max((len(layer) for layer in layers), default=0)
    step = sizes.node_height + sizes.row_gap
    found: dict[Slot, tuple[float, float]] = {}
    for index, layer in enumerate(layers):
        x = sizes.margin + index * (sizes.node_width + sizes.layer_gap)
        top = sizes.margin + (tallest - len(layer)) * step / 2
        for row, slot in enumerate(layer):
            found[slot] = (x, top + row * step)
    return found


def _edge_path(
    edge: GraphEdge,
    chain: list[Slot],
    positions: dict[Slot, tuple[float, float]],
    sizes: LayoutSizes,
) -> EdgePath:
    half = sizes.node_height / 2
    points = [(positions[chain[0]][0] + sizes.node_width, positions[chain[0]][1] + half)]
    for via in chain[1:-1]:
        x, y = positions[via]
        points.append((x, y + half))
        points.append((x + sizes.node_width, y + half))
    points.append((positions[chain[-1]][0], positions[chain[-1]][1] + half))
    if chain[0][1] != edge.source:  # the edge was reversed to break a cycle
        points.reverse()
    parts = [f"M {_n(points[0][0])} {_n(points[0][1])}"]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        bend = (x1 - x0) / 2
        parts.append(f"C {_n(x0 + bend)} {_n(y0)} {_n(x1 - bend)} {_n(y1)} {_n(x1)} {_n(y1)}")
    (x0, y0), (x1, y1) = points[0], points[1]
    return EdgePath(
        edge.source, edge.target, edge.label, " ".join(parts), (x0 + x1) / 2, (y0 + y1) / 2
    )


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
