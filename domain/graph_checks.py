"""Checks on the shape of a workflow graph: edge endpoints, duplicates, branch labels,
cycles, start nodes and reachability. Works on whatever parts of a document could be read,
so that one pass reports every problem."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from domain.definition import ERROR_LABEL
from domain.problems import Problem, join_path


@dataclass(frozen=True)
class GraphNode:
    """What the graph checks need to know about the node at `nodes[index]`.

    `branching` is None when the node's kind is unknown, and `labels` (what a branching
    node can yield) is None when its config is too broken to say: labels on its edges
    are then not judged, so one typo does not bury the real problem under others.
    """

    index: int
    id: str
    branching: bool | None = False
    labels: frozenset[str] | None = None
    continues_on_error: bool = False


@dataclass(frozen=True)
class GraphEdge:
    """The edge at `edges[index]`."""

    index: int
    source: str
    target: str
    when: str | None = None

    @property
    def path(self) -> str:
        return join_path("edges", self.index)


def check_graph(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]) -> list[Problem]:
    """Every problem with how `edges` connect `nodes` (ids are unique, first one wins)."""
    by_id: dict[str, GraphNode] = {}
    for node in nodes:
        by_id.setdefault(node.id, node)
    problems = list(_endpoint_problems(edges, by_id))
    connected = _distinct_connected_edges(edges, by_id, problems)
    label_problems = {edge.index: _label_problem(edge, by_id[edge.source]) for edge in connected}
    problems.extend(problem for problem in label_problems.values() if problem is not None)
    problems.extend(_cycle_problems(list(by_id), connected))
    followed = [edge for edge in connected if label_problems[edge.index] is None]
    problems.extend(_reachability_problems(list(by_id.values()), connected, followed))
    return problems


def _endpoint_problems(
    edges: Sequence[GraphEdge], by_id: dict[str, GraphNode]
) -> Iterator[Problem]:
    for edge in edges:
        if edge.source not in by_id:
            message = f"The edge starts at {edge.source!r}, which is not a node id; fix 'from'."
            yield Problem("unknown_edge_source", join_path(edge.path, "from"), message)
        if edge.target not in by_id:
            message = f"The edge leads to {edge.target!r}, which is not a node id; fix 'to'."
            yield Problem("unknown_edge_target", join_path(edge.path, "to"), message)


def _distinct_connected_edges(
    edges: Sequence[GraphEdge], by_id: dict[str, GraphNode], problems: list[Problem]
) -> list[GraphEdge]:
    """Edges between known nodes, each (from, to, when) once; later copies are problems."""
    seen: set[tuple[str, str, str | None]] = set()
    found: list[GraphEdge] = []
    for edge in edges:
        if edge.source not in by_id or edge.target not in by_id:
            continue
        key = (edge.source, edge.target, edge.when)
        if key in seen:
            where = f" when {edge.when!r}" if edge.when is not None else ""
            message = f"The edge {edge.source} -> {edge.target}{where} appears twice; remove one."
            problems.append(Problem("duplicate_edge", edge.path, message))
            continue
        seen.add(key)
        found.append(edge)
    return found


def _label_problem(edge: GraphEdge, source: GraphNode) -> Problem | None:
    """Why control can never flow along `edge`, judged by the labels its source yields."""
    where = join_path(edge.path, "when")
    if edge.when == ERROR_LABEL:
        if source.continues_on_error:
            return None
        message = (
            f"Node {source.id!r} fails the execution on error, so this error edge is never taken;"
            ' set its on_error to "continue" or remove when.'
        )
        return Problem("unexpected_branch_label", where, message)
    if source.branching is None:
        return None
    if source.branching:
        choices = ", ".join(sorted(source.labels or ())) or "its case labels"
        if edge.when is None:
            message = f"Add a when label ({choices}) to this edge from condition {source.id!r}."
            return Problem("missing_branch_label", where, message)
        if source.labels is not None and edge.when not in source.labels:
            message = f"Condition {source.id!r} never yields {edge.when!r}; use one of: {choices}."
            return Problem("unknown_branch_label", where, message)
        return None
    if edge.when is not None:
        message = (
            f"Remove when {edge.when!r}: node {source.id!r} is not a condition and has no labels."
        )
        return Problem("unexpected_branch_label", where, message)
    return None


def _cycle_problems(node_ids: list[str], edges: list[GraphEdge]) -> Iterator[Problem]:
    """One problem per distinct cycle, on the edge that closes it in a depth-first walk."""
    outgoing: dict[str, list[GraphEdge]] = {node_id: [] for node_id in node_ids}
    for edge in edges:
        outgoing[edge.source].append(edge)
    finished: set[str] = set()
    reported: set[tuple[str, ...]] = set()
    for root in node_ids:
        if root in finished:
            continue
        path: list[str] = [root]
        pending: list[Iterator[GraphEdge]] = [iter(outgoing[root])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                finished.add(path.pop())
                pending.pop()
            elif step.target in path:
                cycle = [*path[path.index(step.target) :], step.target]
                key = _rotated(cycle[:-1])
                if key not in reported:
                    reported.add(key)
                    yield _cycle_problem(step, cycle)
            elif step.target not in finished:
                path.append(step.target)
                pending.append(iter(outgoing[step.target]))


def _rotated(cycle: list[str]) -> tuple[str, ...]:
    start = cycle.index(min(cycle))
    return tuple(cycle[start:] + cycle[:start])


def _cycle_problem(edge: GraphEdge, cycle: list[str]) -> Problem:
    loop = " -> ".join(cycle)
    message = (
        f"The edges form a cycle {loop}; remove or redirect this edge, workflows must be acyclic."
    )
    return Problem("cycle", edge.path, message)


def _reachability_problems(
    nodes: list[GraphNode], edges: list[GraphEdge], followed: list[GraphEdge]
) -> list[Problem]:
    has_incoming = {edge.target for edge in edges}
    starts = [node.id for node in nodes if node.id not in has_incoming]
    if not nodes:
        return []
    if not starts:
        message = "Every node has an incoming edge, so none can start; remove an edge into one."
        return [Problem("no_start_node", "nodes", message)]
    reached = _reached_from(starts, followed)
    return [
        Problem(
            "unreachable_node",
            join_path("nodes", node.index),
            f"Node {node.id!r} can never run: no path of takeable edges leads to it from a"
            " start node; connect it or remove it.",
        )
        for node in nodes
        if node.id not in reached
    ]


def _reached_from(starts: list[str], edges: list[GraphEdge]) -> set[str]:
    outgoing: dict[str, list[str]] = {}
    for edge in edges:
        outgoing.setdefault(edge.source, []).append(edge.target)
    reached = set(starts)
    frontier = list(starts)
    while frontier:
        for target in outgoing.get(frontier.pop(), []):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    return reached
