"""Checks on what a node's templates read from other nodes: `nodes.<id>` must name a node
that exists and that runs before the reader, that is one from which a path of edges leads
to it. The references themselves are found by whoever parses the templates."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from domain.definition import WorkflowDefinition
from domain.problems import Problem


@dataclass(frozen=True)
class NodeReference:
    """The node `reader` reads `nodes.<target>` in the field at `path`."""

    reader: str
    target: str
    path: str


def check_node_references(
    definition: WorkflowDefinition, references: Iterable[NodeReference]
) -> list[Problem]:
    """A problem for each reference to a node that does not exist or is not upstream."""
    problems: list[Problem] = []
    seen: set[NodeReference] = set()
    wanted: dict[str, set[str]] = {}
    ordered: list[NodeReference] = []
    for reference in references:
        if reference in seen:
            continue
        seen.add(reference)
        ordered.append(reference)
        if reference.target in definition.by_id and reference.target != reference.reader:
            wanted.setdefault(reference.reader, set()).add(reference.target)
    found = {
        reader: upstream_among(definition, reader, targets) for reader, targets in wanted.items()
    }
    for reference in ordered:
        problem = _problem(definition, reference, found.get(reference.reader, frozenset()))
        if problem is not None:
            problems.append(problem)
    return problems


def upstream_among(
    definition: WorkflowDefinition, node_id: str, candidates: Set[str]
) -> frozenset[str]:
    """Those of `candidates` from which a path of edges leads to `node_id` (a walk back
    along incoming edges that stops once every candidate is found)."""
    remaining = set(candidates)
    found: set[str] = set()
    visited = {node_id}
    frontier = [node_id]
    while frontier and remaining:
        for edge in definition.incoming.get(frontier.pop(), ()):
            source = edge.source
            if source in visited:
                continue
            visited.add(source)
            frontier.append(source)
            if source in remaining:
                remaining.discard(source)
                found.add(source)
    return frozenset(found)


def _problem(
    definition: WorkflowDefinition, reference: NodeReference, upstream: Set[str]
) -> Problem | None:
    reader, target = reference.reader, reference.target
    if target not in definition.by_id:
        message = (
            f"Node {reader!r} reads nodes.{target}, but there is no node {target!r};"
            " use the id of a node upstream of it."
        )
        return Problem("unknown_node_reference", reference.path, message)
    if target == reader:
        message = (
            f"Node {reader!r} reads its own result (nodes.{target}), which does not exist"
            " while it runs; read an upstream node or the input."
        )
        return Problem("node_not_upstream", reference.path, message)
    if target not in upstream:
        message = (
            f"Node {reader!r} reads nodes.{target}, but no path of edges leads from"
            f" {target!r} to {reader!r}, so it may not have run; add an edge from"
            f" {target!r} (directly or through other nodes) or read something else."
        )
        return Problem("node_not_upstream", reference.path, message)
    return None
