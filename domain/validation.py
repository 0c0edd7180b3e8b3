"""Validating a workflow document (parsed JSON) and turning it into a `WorkflowDefinition`.

`validate_document` reports every problem at once, each with a stable code and the path
of the offending field; `parse_definition` raises `InvalidDefinition` carrying them.
`definition_to_document` is the inverse of `parse_definition`.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.definition import (
    BRANCHING_KINDS,
    EXTENSION_KIND_PATTERN,
    Edge,
    Node,
    NodeKind,
    OnError,
    WorkflowDefinition,
    builtin_kind,
)
from domain.definition import WorkflowSettings as Settings
from domain.errors import InvalidDefinition
from domain.field_reader import FieldReader
from domain.flow_control import limit_to_document, read_concurrency, read_rate_limit
from domain.graph_checks import GraphEdge, GraphNode, check_graph
from domain.node_config import ConditionConfig, parse_node_config
from domain.policies import RetryPolicy
from domain.priority import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    MAX_PRIORITY,
    MIN_PRIORITY,
    queue_name_problem,
)
from domain.problems import Problem, join_path, seconds_to_timedelta, show
from domain.retry_documents import read_retry_policy, retry_policy_to_document

__all__ = [
    "MAX_EDGES",
    "MAX_NODES",
    "NODE_ID_PATTERN",
    "Problem",
    "definition_to_document",
    "parse_definition",
    "validate_document",
]

# The largest workflow the engine is built and tested for (a chain or a fan-out of this
# many nodes runs, and cancels, in bounded time); see docs/concepts.md, "Limits".
MAX_NODES = 5_000
MAX_EDGES = 4 * MAX_NODES
NODE_ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_DOCUMENT_FIELDS = ("nodes", "edges", "settings")
_NODE_FIELDS = ("id", "kind", "name", "config", "retry", "timeout", "on_error", "ui")
_EDGE_FIELDS = ("from", "to", "when")
_SETTINGS_FIELDS = (
    "retry",
    "execution_timeout",
    "fail_fast",
    "allow_recursion",
    "concurrency",
    "rate_limit",
    "priority",
    "queue",
)


@dataclass
class _Draft:
    """Whatever could be read from a document, and everything wrong with it."""

    problems: list[Problem] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    graph_nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)


def validate_document(doc: Any) -> list[Problem]:
    """Every problem with `doc`; an empty list means it is a valid workflow definition."""
    return _read_document(doc).problems


def parse_definition(doc: Any) -> WorkflowDefinition:
    """The definition `doc` describes; raises `InvalidDefinition(problems)` if it has any."""
    draft = _read_document(doc)
    if draft.problems:
        raise InvalidDefinition(list(draft.problems))
    edges = tuple(Edge(edge.source, edge.target, edge.when) for edge in draft.edges)
    return WorkflowDefinition(nodes=tuple(draft.nodes), edges=edges, settings=draft.settings)


def definition_to_document(defn: WorkflowDefinition) -> dict[str, Any]:
    """The JSON document for `defn`, such that `parse_definition` gives it back."""
    settings: dict[str, Any] = {"retry": retry_policy_to_document(defn.settings.retry)}
    if defn.settings.execution_timeout is not None:
        settings["execution_timeout"] = defn.settings.execution_timeout.total_seconds()
    if defn.settings.fail_fast:
        settings["fail_fast"] = True
    if defn.settings.allow_recursion:
        settings["allow_recursion"] = True
    if defn.settings.concurrency is not None:
        settings["concurrency"] = limit_to_document(defn.settings.concurrency)
    if defn.settings.rate_limit is not None:
        settings["rate_limit"] = limit_to_document(defn.settings.rate_limit)
    if defn.settings.priority != DEFAULT_PRIORITY:
        settings["priority"] = defn.settings.priority
    if defn.settings.queue != DEFAULT_QUEUE:
        settings["queue"] = defn.settings.queue
    return {
        "nodes": [_node_to_document(node) for node in defn.nodes],
        "edges": [_edge_to_document(edge) for edge in defn.edges],
        "settings": settings,
    }


def _node_to_document(node: Node) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": node.id, "kind": str(node.kind)}
    if node.name is not None:
        doc["name"] = node.name
    doc["config"] = copy.deepcopy(dict(node.config))
    if node.retry is not None:
        doc["retry"] = retry_policy_to_document(node.retry)
    if node.timeout is not None:
        doc["timeout"] = node.timeout.total_seconds()
    doc["on_error"] = node.on_error.value
    if node.ui is not None:
        doc["ui"] = copy.deepcopy(dict(node.ui))
    return doc


def _edge_to_document(edge: Edge) -> dict[str, Any]:
    doc: dict[str, Any] = {"from": edge.source, "to": edge.target}
    if edge.when is not None:
        doc["when"] = edge.when
    return doc


def _read_document(doc: Any) -> _Draft:
    draft = _Draft()
    if not isinstance(doc, Mapping):
        message = f"A workflow definition must be a JSON object with 'nodes', not {show(doc)}."
        draft.problems.append(Problem("invalid_document", "", message))
        return draft
    draft.problems.extend(_size_problems(doc))
    if draft.problems:
        return draft  # too big to check further: that alone is the answer
    reader = FieldReader(doc, "", "invalid_type", problems=draft.problems)
    reader.reject_unknown(_DOCUMENT_FIELDS)
    draft.settings = _read_settings(reader)
    _read_nodes(reader, draft)
    _read_edges(reader, draft)
    draft.problems.extend(check_graph(draft.graph_nodes, draft.edges))
    return draft


def _size_problems(doc: Mapping[str, Any]) -> list[Problem]:
    """A document with more nodes or edges than the engine is built for is refused whole."""
    problems = []
    for name, limit in (("nodes", MAX_NODES), ("edges", MAX_EDGES)):
        items = doc.get(name)
        if isinstance(items, list) and len(items) > limit:
            message = (
                f"A workflow may have at most {limit} {name}, this one has {len(items)};"
                " split it into sub-workflows."
            )
            problems.append(Problem(f"too_many_{name}", name, message))
    return problems


def _read_settings(doc: FieldReader) -> Settings:
    raw = doc.raw.get("settings")
    if raw is None:
        return Settings()
    if not isinstance(raw, Mapping):
        doc.report("settings", f"settings must be a JSON object, not {show(raw)}.")
        return Settings()
    reader = FieldReader(raw, "settings", "invalid_type", problems=doc.problems)
    reader.reject_unknown(_SETTINGS_FIELDS)
    retry = RetryPolicy()
    if reader.has("retry"):
        retry = read_retry_policy(raw["retry"], reader.path("retry"), retry, doc.problems)
    timeout = _seconds(reader.duration("execution_timeout", code="invalid_timeout"))
    fail_fast = reader.flag("fail_fast", default=False)
    allow_recursion = reader.flag("allow_recursion", default=False)
    concurrency = rate_limit = None
    if reader.has("concurrency"):
        concurrency = read_concurrency(raw["concurrency"], reader.path("concurrency"), doc.problems)
    if reader.has("rate_limit"):
        rate_limit = read_rate_limit(raw["rate_limit"], reader.path("rate_limit"), doc.problems)
    return Settings(
        priority=_priority(reader),
        queue=_queue(reader),
        retry=retry,
        execution_timeout=timeout,
        fail_fast=fail_fast is True,
        allow_recursion=allow_recursion is True,
        concurrency=concurrency,
        rate_limit=rate_limit,
    )


def _priority(reader: FieldReader) -> int:
    """`settings.priority`: the default priority of the workflow's runs (0-9)."""
    value = reader.integer(
        "priority", minimum=MIN_PRIORITY, maximum=MAX_PRIORITY, code="invalid_priority"
    )
    return value if isinstance(value, int) else DEFAULT_PRIORITY


def _queue(reader: FieldReader) -> str:
    """`settings.queue`: the queue the workflow's executions are put on."""
    if not reader.has("queue"):
        return DEFAULT_QUEUE
    value = reader.raw["queue"]
    problem = queue_name_problem(value)
    if problem is not None:
        reader.report(
            "queue", f"queue must be a queue name, not {show(value)}: {problem}.", "invalid_queue"
        )
        return DEFAULT_QUEUE
    return str(value)


def _read_nodes(doc: FieldReader, draft: _Draft) -> None:
    raw_nodes = doc.raw.get("nodes")
    if raw_nodes is None:
        doc.require("nodes")
    elif not isinstance(raw_nodes, list):
        doc.report("nodes", f"nodes must be a list of node objects, not {show(raw_nodes)}.")
    elif not raw_nodes:
        message = "Add at least one node: a workflow with no nodes has nothing to run."
        draft.problems.append(Problem("no_nodes", "nodes", message))
    else:
        seen: set[str] = set()
        for index, raw_node in enumerate(raw_nodes):
            _read_node(index, raw_node, draft, seen)


def _read_node(index: int, raw: Any, draft: _Draft, seen: set[str]) -> None:
    path = join_path("nodes", index)
    if not isinstance(raw, Mapping):
        message = f"Each node must be a JSON object with an id and a kind, not {show(raw)}."
        draft.problems.append(Problem("invalid_type", path, message))
        return
    reader = FieldReader(raw, path, "invalid_type", problems=draft.problems)
    reader.reject_unknown(_NODE_FIELDS)
    node_id = _node_id(reader, seen)
    kind = _node_kind(reader)
    name = reader.text("name")
    labels = _config_labels(reader, kind)
    retry = None
    if reader.has("retry"):
        base = draft.settings.retry
        retry = read_retry_policy(raw["retry"], reader.path("retry"), base, draft.problems)
    timeout = _seconds(reader.duration("timeout", code="invalid_timeout"))
    on_error = _on_error(reader)
    if node_id is None or node_id in seen:
        return
    seen.add(node_id)
    branching = None if kind is None else kind in BRANCHING_KINDS
    continues = on_error is OnError.CONTINUE
    draft.graph_nodes.append(GraphNode(index, node_id, branching, labels, continues))
    if kind is not None:
        raw_config = raw.get("config")
        config = copy.deepcopy(dict(raw_config)) if isinstance(raw_config, Mapping) else {}
        ui = _ui(reader)
        draft.nodes.append(Node(node_id, kind, config, retry, timeout, on_error, name, ui))


def _node_id(reader: FieldReader, seen: set[str]) -> str | None:
    """The node's id, if it is a string; an id that breaks the rules is still used for edges."""
    if not reader.require("id"):
        return None
    node_id = reader.raw["id"]
    if not isinstance(node_id, str) or not NODE_ID_PATTERN.fullmatch(node_id):
        rule = "1 to 64 letters, digits or _, starting with a letter or _"
        message = f"Node id {show(node_id)} is not allowed; use {rule}."
        reader.report("id", message, "invalid_node_id")
    if not isinstance(node_id, str):
        return None
    if node_id in seen:
        message = f"Another node already has the id {node_id!r}; give this one a different id."
        reader.report("id", message, "duplicate_node_id")
    return node_id


def _node_kind(reader: FieldReader) -> str | None:
    """A built-in kind, or the name of a kind an installed package adds: whether a worker
    has that one is checked at save (`application.node_kinds`), not here. A name a letter
    or two from a built-in kind is taken for a typo of it."""
    if not reader.require("kind"):
        return None
    kind = reader.raw["kind"]
    if isinstance(kind, str) and (found := builtin_kind(kind)) is not None:
        return found
    if isinstance(kind, str) and EXTENSION_KIND_PATTERN.fullmatch(kind):
        close = difflib.get_close_matches(kind, sorted(NodeKind), n=1, cutoff=0.8)
        if not close:
            return kind
        message = f"Unknown node kind {kind!r}; did you mean {close[0]!r}?"
        reader.report("kind", message, "unknown_node_kind")
        return None
    known = ", ".join(sorted(NodeKind))
    reader.report(
        "kind",
        f"Unknown node kind {show(kind)}; use one of {known}, or the name of an installed"
        " kind (lower-case words joined by _ or .).",
        "unknown_node_kind",
    )
    return None


def _config_labels(reader: FieldReader, kind: str | None) -> frozenset[str] | None:
    """Checks the node's config; returns the labels a condition can yield (None if unknown).
    An installed kind's config is checked against its own model at save."""
    if kind is None:
        return None
    raw_config = reader.raw.get("config")
    config_kind = builtin_kind(kind)
    if config_kind is None:
        if raw_config is not None and not isinstance(raw_config, Mapping):
            message = f"config must be a JSON object, not {show(raw_config)}."
            reader.report("config", message, "invalid_config")
        return None
    config, problems = parse_node_config(
        config_kind, {} if raw_config is None else raw_config, reader.path("config")
    )
    reader.problems.extend(problems)
    return config.labels if isinstance(config, ConditionConfig) else None


def _ui(reader: FieldReader) -> dict[str, Any] | None:
    """The node's `ui`: an object the engine keeps as it is, for editors (its `x` and `y`
    place it on the console's canvas, and must be numbers)."""
    value = reader.raw.get("ui")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        reader.report(
            "ui", f'ui must be a JSON object, such as {{"x": 40, "y": 80}}, not {show(value)}.'
        )
        return None
    for axis in ("x", "y"):
        found = value.get(axis)
        if found is not None and (isinstance(found, bool) or not isinstance(found, int | float)):
            reader.report(f"ui.{axis}", f"ui.{axis} must be a number, not {show(found)}.")
    return copy.deepcopy(dict(value))


def _on_error(reader: FieldReader) -> OnError:
    value = reader.raw.get("on_error")
    if value is None:
        return OnError.FAIL
    if isinstance(value, str) and value in OnError.__members__.values():
        return OnError(value)
    message = f'on_error must be "fail" or "continue", not {show(value)}.'
    reader.report("on_error", message, "invalid_on_error")
    return OnError.FAIL


def _read_edges(doc: FieldReader, draft: _Draft) -> None:
    raw_edges = doc.raw.get("edges")
    if raw_edges is None:
        return
    if not isinstance(raw_edges, list):
        doc.report("edges", f"edges must be a list of edge objects, not {show(raw_edges)}.")
        return
    for index, raw_edge in enumerate(raw_edges):
        _read_edge(index, raw_edge, draft)


def _read_edge(index: int, raw: Any, draft: _Draft) -> None:
    path = join_path("edges", index)
    if not isinstance(raw, Mapping):
        example = '{"from": "a", "to": "b"}'
        message = f"Each edge must be an object like {example}, not {show(raw)}."
        draft.problems.append(Problem("invalid_type", path, message))
        return
    reader = FieldReader(raw, path, "invalid_type", problems=draft.problems)
    reader.reject_unknown(_EDGE_FIELDS)
    source = reader.text("from", required=True)
    target = reader.text("to", required=True)
    when = reader.text("when")
    when_read = when is not None or not reader.has("when")
    if source is not None and target is not None and when_read:
        draft.edges.append(GraphEdge(index, source, target, when))


def _seconds(value: float | str | None) -> timedelta | None:
    return seconds_to_timedelta(value) if isinstance(value, float) else None
