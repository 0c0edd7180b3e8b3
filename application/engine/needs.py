"""What a step will read, worked out from the held execution before the step is decided.

The committer fetches these for a whole batch in one query per kind. What only a template
computes at run time (a signal or workflow named by `{{ ... }}`) is not known here: the
decision then stops with `MissingFacts` and the committer fetches it and decides again.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.engine.changes import Held
from application.engine.context import secret_names
from application.engine.decision import Close, Defer, GiveUpOn, Request
from application.engine.facts import Needs, WorkflowKey
from application.ports.unit_of_work import ItemsAt
from domain.definition import NodeKind, WorkflowDefinition
from domain.node_config import workflow_reference
from domain.problems import is_template


@dataclass(frozen=True)
class _DefinitionNeeds:
    """What a definition's nodes name, read once per held execution."""

    secrets: frozenset[str]
    signals: dict[str, str]
    """The literal signal name of each wait_for_signal node."""
    workflows: dict[str, WorkflowKey]
    """The literal workflow (and version) of each sub_workflow and for_each node."""


_by_definition: dict[int, tuple[WorkflowDefinition, _DefinitionNeeds]] = {}


def needs_of(held: Held, request: Request) -> Needs:
    """The facts a step of `held` will read (closing reads none)."""
    if isinstance(request, Close | Defer | GiveUpOn):
        return Needs()
    named = _definition_needs(held.definition)
    signals, children, items = set(), set(), set()
    workflows: set[WorkflowKey] = set()
    for node_id in held.parked:
        waiting_for = held.runs[node_id].waiting_for or {}
        if "signal" in waiting_for:
            signals.add(str(waiting_for["signal"]))
        if "child" in waiting_for:
            children.add(str(waiting_for["child"]))
        if "for_each" in waiting_for:
            state = waiting_for["for_each"]
            items.add(ItemsAt(held.execution.id, node_id, int(state["next"])))
            workflows.add((str(state["workflow_id"]), int(state["version"])))
    unfinished = _unfinished(held, named.signals.keys() | named.workflows.keys())
    signals |= {named.signals[node_id] for node_id in unfinished if node_id in named.signals}
    workflows |= {named.workflows[n] for n in unfinished if n in named.workflows}
    return Needs(
        frozenset(signals),
        frozenset(children),
        named.secrets,
        frozenset(workflows),
        frozenset(items),
    )


def _unfinished(held: Held, node_ids: set[str]) -> list[str]:
    return [node_id for node_id in node_ids if not held.runs[node_id].status.is_terminal]


def _definition_needs(definition: WorkflowDefinition) -> _DefinitionNeeds:
    # Definitions are immutable and cached by version; keep the last few read.
    found = _by_definition.get(id(definition))
    if found is not None and found[0] is definition:
        return found[1]
    named = _read(definition)
    if len(_by_definition) >= 512:
        _by_definition.pop(next(iter(_by_definition)))
    _by_definition[id(definition)] = (definition, named)
    return named


def _literal(value: object) -> bool:
    """A config text known before rendering."""
    return isinstance(value, str) and not is_template(value)


def _read(definition: WorkflowDefinition) -> _DefinitionNeeds:
    secrets: set[str] = set()
    signals: dict[str, str] = {}
    workflows: dict[str, WorkflowKey] = {}
    for node in definition.nodes:
        secrets |= secret_names(node)
        config = node.config
        if node.kind is NodeKind.WAIT_FOR_SIGNAL and _literal(config.get("signal")):
            signals[node.id] = str(config["signal"])
        version = config.get("version")
        literal_version = version is None or isinstance(version, int)
        named = workflow_reference(node.kind, config)
        if named is not None and _literal(named[1]):
            workflows[node.id] = (str(named[1]), version if literal_version else None)
    return _DefinitionNeeds(frozenset(secrets), signals, workflows)
