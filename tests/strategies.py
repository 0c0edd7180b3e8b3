"""Hypothesis strategies for workflow documents, shared by the unit, application and engine suites.

`workflow_documents()` draws valid definitions: DAGs whose node ids are "n0", "n1", ...
in a topological order (edges only go from a lower to a higher number; the document
lists nodes and edges shuffled), with branches out of condition nodes along labelled
edges, joins, fan-out, `on_error: continue` nodes with error edges, and random retry
policies and timeouts. `invalid_mutations()` draws `(document, expected_code)` pairs:
a valid document broken in one way, and the problem code that must be reported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

Draw = Callable[[st.SearchStrategy[Any]], Any]
Document = dict[str, Any]

BRANCH_LABELS = ("yes", "no", "high", "low", "retry_later", "skip-it")
SIGNAL_NAMES = ("approve", "resume", "go")
ERROR_KINDS = ("validation", "http_4xx", "auth")
# Mostly cheap kinds, so engine suites can drive them with fake executors and a fake clock.
GENERATED_KINDS = (
    *("noop",) * 4,
    *("transform",) * 3,
    *("condition",) * 3,
    "delay",
    "wait_for_signal",
)

# Valid configs for the kinds that need outside services, for suites that fake them.
STATIC_CONFIGS: dict[str, Document] = {
    "http_request": {"url": "https://example.com/items", "method": "GET"},
    "ai_prompt": {"model": "gpt-4o-mini", "prompt": "Say hello."},
    "sub_workflow": {"workflow_id": "child"},
    "for_each": {"items": "input.rows", "workflow": "child", "parallelism": 4},
}


def node_id(position: int) -> str:
    return f"n{position}"


@st.composite
def retry_policies(draw: Draw, *, partial: bool = True) -> Document:
    """A valid retry policy; with `partial`, some fields may be left to the defaults."""
    initial = draw(st.floats(0.01, 30, allow_nan=False))
    policy: Document = {
        "max_attempts": draw(st.integers(1, 6)),
        "initial_interval": initial,
        "backoff_coefficient": draw(st.floats(1, 4, allow_nan=False)),
        "max_interval": draw(st.floats(initial, 600, allow_nan=False)),
        "jitter": draw(st.floats(0, 1, allow_nan=False)),
        "non_retryable": draw(st.lists(st.sampled_from(ERROR_KINDS), unique=True, max_size=2)),
    }
    if not partial or draw(st.booleans()):
        return policy
    # Intervals stay together: alone, one could cross the inherited other.
    optional = ["max_attempts", "backoff_coefficient", "jitter", "non_retryable", "intervals"]
    dropped = draw(st.sets(st.sampled_from(optional)))
    if "intervals" in dropped:
        dropped |= {"initial_interval", "max_interval"}
    return {key: value for key, value in policy.items() if key not in dropped}


@st.composite
def node_configs(draw: Draw, kind: str, position: int) -> Document:
    """A valid config for a node of `kind`."""
    if kind == "transform":
        return {"output": {"node": node_id(position), "value": draw(st.integers(-1000, 1000))}}
    if kind == "condition":
        labels = draw(st.lists(st.sampled_from(BRANCH_LABELS), min_size=1, max_size=3, unique=True))
        default = labels.pop() if len(labels) > 1 and draw(st.booleans()) else None
        cases = [{"when": label, "if": f"input.branch == '{label}'"} for label in labels]
        return {"cases": cases} if default is None else {"cases": cases, "default": default}
    if kind == "delay":
        return {"seconds": draw(st.sampled_from([0.5, 1, 5, 30, 300]))}
    if kind == "wait_for_signal":
        config: Document = {"signal": draw(st.sampled_from(SIGNAL_NAMES))}
        if draw(st.booleans()):
            config["timeout_seconds"] = draw(st.sampled_from([10, 60, 3600]))
        return config
    return copy.deepcopy(STATIC_CONFIGS.get(kind, {}))


@st.composite
def nodes(draw: Draw, kind: str, position: int) -> Document:
    node: Document = {"id": node_id(position), "kind": kind}
    if draw(st.integers(0, 4)) == 0:
        node["name"] = f"Step {position}"
    config = draw(node_configs(kind, position))
    if config or draw(st.booleans()):
        node["config"] = config
    if draw(st.integers(0, 3)) == 0:
        node["retry"] = draw(retry_policies())
    if draw(st.integers(0, 3)) == 0:
        node["timeout"] = draw(st.floats(0.5, 3600, allow_nan=False))
    if draw(st.integers(0, 4)) == 0:
        node["on_error"] = "continue"
    elif draw(st.integers(0, 4)) == 0:
        node["on_error"] = "fail"
    return node


def yields(node: Document) -> list[str | None]:
    """The `when` values an edge leaving `node` may carry (None: a plain edge)."""
    found: list[str | None]
    if node["kind"] == "condition":
        config = node.get("config") or {}
        found = [case["when"] for case in config.get("cases", [])]
        if config.get("default") is not None:
            found.append(config["default"])
    else:
        found = [None]
    if node.get("on_error") == "continue":
        found.append("error")
    return found


def _edges_into(draw: Draw, target: int, generated: Sequence[Document]) -> list[Document]:
    """Edges into node `target` from lower-numbered nodes (none: it is a start node)."""
    if target == 0 or draw(st.integers(0, 6)) == 0:
        return []
    sources = draw(st.lists(st.integers(0, target - 1), min_size=1, max_size=3, unique=True))
    edges: list[Document] = []
    for source in sources:
        when = draw(st.sampled_from(yields(generated[source])))
        edge: Document = {"from": node_id(source), "to": node_id(target)}
        if when is not None:
            edge["when"] = when
        edges.append(edge)
    return edges


@st.composite
def workflow_documents(
    draw: Draw,
    min_nodes: int = 1,
    max_nodes: int = 40,
    *,
    kinds: Sequence[str] = GENERATED_KINDS,
) -> Document:
    """A valid workflow document of `min_nodes` to `max_nodes` nodes drawn from `kinds`."""
    count = draw(st.integers(min_nodes, max_nodes))
    generated = [draw(nodes(draw(st.sampled_from(kinds)), position)) for position in range(count)]
    edges = [edge for target in range(count) for edge in _edges_into(draw, target, generated)]
    doc: Document = {
        "nodes": draw(st.permutations(generated)),
        "edges": draw(st.permutations(edges)),
    }
    settings: Document = {}
    if draw(st.booleans()):
        settings["retry"] = draw(retry_policies())
    if draw(st.booleans()):
        settings["execution_timeout"] = draw(st.floats(60, 86400, allow_nan=False))
    if draw(st.booleans()):
        settings["fail_fast"] = draw(st.booleans())
    if settings or draw(st.booleans()):
        doc["settings"] = settings
    return doc


# ---- Breaking a valid document in one way ------------------------------------------------

BAD_RETRY_FIELDS = (
    ("max_attempts", 0),
    ("max_attempts", 1.5),
    ("initial_interval", -1),
    ("backoff_coefficient", 0.5),
    ("jitter", 1.5),
    ("max_interval", "soon"),
    ("non_retryable", "auth"),
)
BAD_TIMEOUTS: tuple[Any, ...] = (0, -3, "soon", True, [])
BAD_CONFIGS = {
    "noop": ("delay", {"seconds": 0}),
    "transform": ("transform", {}),
    "condition": ("condition", {"cases": []}),
    "delay": ("delay", {"seconds": 1, "until": "2030-01-01T00:00:00Z"}),
    "wait_for_signal": ("wait_for_signal", {"signal": ""}),
    "http_request": ("http_request", {"url": "ftp://example.com"}),
    "ai_prompt": ("ai_prompt", {"model": "m", "prompt": "p", "temperature": 3}),
    "sub_workflow": ("sub_workflow", {"workflow_id": "w", "version": 0}),
    "for_each": ("for_each", {"items": 3, "workflow": "w", "parallelism": 0}),
}


def _pick_node(doc: Document, draw: Draw) -> Document:
    chosen: Document = draw(st.sampled_from(doc["nodes"]))
    return chosen


def _duplicate_node_id(doc: Document, draw: Draw) -> None:
    doc["nodes"].append(copy.deepcopy(_pick_node(doc, draw)))


def _unknown_edge_source(doc: Document, draw: Draw) -> None:
    doc["edges"].append({"from": "ghost", "to": _pick_node(doc, draw)["id"]})


def _unknown_edge_target(doc: Document, draw: Draw) -> None:
    doc["edges"].append({"from": _pick_node(doc, draw)["id"], "to": "ghost"})


def _cycle(doc: Document, draw: Draw) -> None:
    """Adds an edge back along an existing one (or a self-loop), with a label its source yields."""
    by_id = {node["id"]: node for node in doc["nodes"]}
    if doc["edges"]:
        edge = draw(st.sampled_from(doc["edges"]))
        source, target = by_id[edge["to"]], by_id[edge["from"]]
    else:
        source = target = _pick_node(doc, draw)
    back: Document = {"from": source["id"], "to": target["id"]}
    when = draw(st.sampled_from(yields(source)))
    if when is not None:
        back["when"] = when
    doc["edges"].append(back)


def _missing_branch_label(doc: Document, draw: Draw) -> None:
    target = _pick_node(doc, draw)["id"]
    conditions = [node for node in doc["nodes"] if node["kind"] == "condition"]
    if conditions:
        source = draw(st.sampled_from(conditions))["id"]
    else:
        source = "added_condition"
        cases = [{"when": "yes", "if": "input.ok"}]
        doc["nodes"].append({"id": source, "kind": "condition", "config": {"cases": cases}})
    doc["edges"].append({"from": source, "to": target})


def _unexpected_branch_label(doc: Document, draw: Draw) -> None:
    target = _pick_node(doc, draw)["id"]
    plain = [
        node
        for node in doc["nodes"]
        if node["kind"] != "condition" and node.get("on_error") != "continue"
    ]
    if plain:
        source = draw(st.sampled_from(plain))["id"]
    else:
        source = "added_plain"
        doc["nodes"].append({"id": source, "kind": "noop"})
    doc["edges"].append(
        {"from": source, "to": target, "when": draw(st.sampled_from(["yes", "error"]))}
    )


def _invalid_retry_policy(doc: Document, draw: Draw) -> None:
    key, value = draw(st.sampled_from(BAD_RETRY_FIELDS))
    owner = doc.setdefault("settings", {}) if draw(st.booleans()) else _pick_node(doc, draw)
    owner["retry"] = {**owner.get("retry", {}), key: value}


def _invalid_timeout(doc: Document, draw: Draw) -> None:
    value = draw(st.sampled_from(BAD_TIMEOUTS))
    if draw(st.booleans()):
        doc.setdefault("settings", {})["execution_timeout"] = value
    else:
        _pick_node(doc, draw)["timeout"] = value


def _unknown_node_kind(doc: Document, draw: Draw) -> None:
    # Names no kind can have, and typos of built-in ones: a well-formed name such as
    # "teleport" may be a kind a package adds, which only the save checks can refuse.
    names = ["Teleport", "HTTP_REQUEST", "", 7, "http_reqest", "1st.kind"]
    _pick_node(doc, draw)["kind"] = draw(st.sampled_from(names))


def _invalid_config(doc: Document, draw: Draw) -> None:
    node = _pick_node(doc, draw)
    node["kind"], node["config"] = copy.deepcopy(BAD_CONFIGS[node["kind"]])


MUTATIONS: dict[str, Callable[[Document, Draw], None]] = {
    "duplicate_node_id": _duplicate_node_id,
    "unknown_edge_source": _unknown_edge_source,
    "unknown_edge_target": _unknown_edge_target,
    "cycle": _cycle,
    "missing_branch_label": _missing_branch_label,
    "unexpected_branch_label": _unexpected_branch_label,
    "invalid_retry_policy": _invalid_retry_policy,
    "invalid_timeout": _invalid_timeout,
    "unknown_node_kind": _unknown_node_kind,
    "invalid_config": _invalid_config,
}


def mutate_to_invalid(doc: Document, draw: Draw) -> tuple[Document, str]:
    """A copy of valid `doc` broken in one way, and the problem code that must be reported."""
    broken = copy.deepcopy(doc)
    code = draw(st.sampled_from(sorted(MUTATIONS)))
    MUTATIONS[code](broken, draw)
    return broken, code


@st.composite
def invalid_mutations(draw: Draw, max_nodes: int = 12) -> tuple[Document, str]:
    """`(document, expected_code)`: a valid document of up to `max_nodes` nodes, broken once."""
    return mutate_to_invalid(draw(workflow_documents(max_nodes=max_nodes)), draw)


# ---- Hostile input: values the API must refuse with a 4xx -----------------------------------

NUL = "\u0000"
INT64_MAX = 2**63 - 1
NEVER_FIRING_CRONS = (
    "0 0 30 2 *",
    "0 0 31 2 *",
    "0 0 31 4 *",
    "0 0 31 6 *",
    "0 0 31 9 *",
    "0 0 31 11 *",
    "0 0 30-31 2 *",
)
SEVEN_FIELD_CRONS = ("* * * * * * 2030", "0 0 1 1 * 0 2031")


def nul_strings() -> st.SearchStrategy[str]:
    """Text with a NUL character somewhere in it."""
    return st.builds(
        lambda head, tail: f"{head}{NUL}{tail}", st.text(max_size=8), st.text(max_size=8)
    )


def huge_integers() -> st.SearchStrategy[int]:
    """Integers just or far outside the signed 64-bit range (PostgreSQL's bigint)."""
    return st.one_of(
        st.integers(min_value=INT64_MAX + 1, max_value=2**200),
        st.integers(min_value=-(2**200), max_value=-INT64_MAX - 2),
    )


def deeply_nested(min_levels: int = 65, max_levels: int = 400) -> st.SearchStrategy[Any]:
    """Arrays and objects nested beyond the API's limit (64 levels), up to past recursion."""

    def build(levels: int, as_object: bool) -> Any:
        value: Any = 0
        for _ in range(levels):
            value = {"a": value} if as_object else [value]
        return value

    return st.builds(build, st.integers(min_levels, max_levels), st.booleans())


def hostile_values() -> st.SearchStrategy[Any]:
    """One JSON value the API must refuse: a NUL, a huge integer, or nesting too deep."""
    return st.one_of(nul_strings(), huge_integers(), deeply_nested())


def hostile_crons() -> st.SearchStrategy[str]:
    """Cron expressions that look like crons but never fire, or have seven fields."""
    return st.sampled_from(NEVER_FIRING_CRONS + SEVEN_FIELD_CRONS)


@st.composite
def yaml_alias_documents(draw: Draw) -> str:
    """A small YAML text whose aliases expand geometrically (levels x width)."""
    levels, width = draw(st.integers(1, 9)), draw(st.integers(2, 9))
    rows = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        rows.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "nodes: []\nedges: []\n" + "\n".join(rows) + "\n"


@st.composite
def with_a_hostile_value(draw: Draw, body: Document) -> Document:
    """`body` with one field (or a value inside it) replaced by a hostile one."""
    planted = copy.deepcopy(body)
    key = draw(st.sampled_from(sorted(planted)))
    if key == "cron":
        planted[key] = draw(hostile_crons())
    elif isinstance(planted[key], dict) and planted[key] and draw(st.booleans()):
        inner = draw(st.sampled_from(sorted(planted[key])))
        planted[key][inner] = draw(hostile_values())
    else:
        planted[key] = draw(nul_strings() if isinstance(planted[key], str) else hostile_values())
    return planted
