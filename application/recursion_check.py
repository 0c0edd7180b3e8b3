"""Refusing at save a workflow that starts itself, unless `settings.allow_recursion` says so.

A `sub_workflow` or `for_each` node starts a workflow of the workspace, named by id or by
name. The walk follows those references from the workflow being saved through the other
stored workflows, in the version each node would start (its pinned `version`, else the
latest), as the engine does, and reports each node of the saved workflow from which a path
leads back to it: to its id or its name, in the version being saved (the latest once it is
saved). An older version of it that a node pins is walked like any other workflow. On
create the workflow has no id yet and its own name is not stored yet; a reference to that
name is a reference to itself all the same.

A reference holding a template names its workflow only at run time and is not followed,
nor is one naming no workflow (`unknown_workflow` reports it) or an archived workflow,
which cannot be started. The walk loads each workflow version once and at most
`MAX_WORKFLOWS` of them, resolving at most `MAX_REFERENCES` names; what lies beyond is left
to the nesting limit the engine enforces at run time (`TREADLE_MAX_DEPTH`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from application.ports.unit_of_work import UnitOfWork
from domain.definition import NodeKind, WorkflowDefinition
from domain.node_config import workflow_reference
from domain.problems import Problem, is_template, join_path

RECURSIVE_WORKFLOW = "recursive_workflow"
MAX_WORKFLOWS = 1_000
MAX_REFERENCES = 10_000

_Key = tuple[str, int]
"""A stored workflow version the walk reaches: (workflow id, version)."""
_HOME: _Key = ("", 0)
"""The workflow being saved, in the version being saved."""


@dataclass(frozen=True)
class Saving:
    """The workflow being saved: its name, its id (none before it is created) and the
    number of the version being saved."""

    name: str | None = None
    workflow_id: str | None = None
    version: int = 1


@dataclass(frozen=True)
class _Reference:
    key: str  # the config key naming the workflow: `workflow` or `workflow_id`
    reference: str
    version: int | None


async def recursion_problems(
    uow: UnitOfWork,
    workspace_id: str,
    definition: WorkflowDefinition,
    saving: Saving,
) -> list[Problem]:
    """A `recursive_workflow` problem for each node of `definition`, saved as `saving`, that
    starts a workflow leading back to it. Nothing with `settings.allow_recursion`."""
    if definition.settings.allow_recursion:
        return []
    starts = [
        (index, found)
        for index, node in enumerate(definition.nodes)
        if (found := _reference(node.kind, node.config)) is not None
    ]
    if not starts:
        return []
    walk = _Walk(uow, workspace_id, saving)
    targets = [await walk.resolve(found.reference, found.version) for _, found in starts]
    await walk.explore(target for target in targets if target is not None)
    towards_home = walk.paths_home()
    problems: list[Problem] = []
    for (index, found), target in zip(starts, targets, strict=True):
        if target is None or (target != _HOME and target not in towards_home):
            continue
        cycle = [_HOME, target]
        while cycle[-1] != _HOME:
            cycle.append(towards_home[cycle[-1]])
        path = join_path(join_path(join_path("nodes", index), "config"), found.key)
        problems.append(Problem(RECURSIVE_WORKFLOW, path, _message(walk, cycle)))
    return problems


def _message(walk: _Walk, cycle: list[_Key]) -> str:
    shown = " -> ".join(walk.name_of(key) for key in cycle)
    return (
        f"This workflow reaches itself: {shown}; set settings.allow_recursion: true to"
        " allow it (nesting then stops at TREADLE_MAX_DEPTH), or start another workflow."
    )


@dataclass
class _Walk:
    uow: UnitOfWork
    workspace_id: str
    saving: Saving
    names: dict[_Key, str] = field(default_factory=dict)
    resolved: dict[tuple[str, int | None], _Key | None] = field(default_factory=dict)
    starts: dict[_Key, set[_Key]] = field(default_factory=dict)
    """The workflow versions each explored one starts (the graph the walk has seen)."""

    def name_of(self, key: _Key) -> str:
        if key == _HOME:
            return self.saving.name if self.saving.name is not None else "this workflow"
        return self.names[key]

    async def resolve(self, reference: str, version: int | None) -> _Key | None:
        """The workflow version `reference` starts, as the engine finds it (by id, then by
        name), `_HOME` for the one being saved, None for none it could start."""
        if (reference, version) in self.resolved:
            return self.resolved[(reference, version)]
        if len(self.resolved) >= MAX_REFERENCES:
            return None
        found = await self._resolve(reference, version)
        self.resolved[(reference, version)] = found
        return found

    async def _resolve(self, reference: str, version: int | None) -> _Key | None:
        saving, workflows = self.saving, self.uow.workflows
        workflow = None
        if reference != saving.workflow_id:
            workflow = await workflows.get(self.workspace_id, reference)
            if workflow is None and reference != saving.name:  # not stored yet on create
                workflow = await workflows.get_by_name(self.workspace_id, reference)
        if workflow is None:
            if reference not in (saving.workflow_id, saving.name):
                return None
            return self._itself(saving.workflow_id, version)
        if workflow.id == saving.workflow_id or workflow.name == saving.name:
            return self._itself(workflow.id, version)
        if workflow.archived:
            return None  # it cannot be started
        key = (workflow.id, version or workflow.latest_version)
        pinned = version is not None and version != workflow.latest_version
        self.names[key] = f"{workflow.name} version {version}" if pinned else workflow.name
        return key

    def _itself(self, workflow_id: str | None, version: int | None) -> _Key | None:
        """The saved workflow in `version`: the one being saved, or an older one."""
        if version is None or version == self.saving.version:
            return _HOME
        if workflow_id is None:
            return None  # on create, no other version of it exists
        key = (workflow_id, version)
        self.names[key] = f"{self.name_of(_HOME)} version {version}"
        return key

    async def explore(self, first: Iterable[_Key]) -> None:
        """Load the workflow versions reachable from `first`, each once, breadth first,
        at most `MAX_WORKFLOWS` of them."""
        queue = deque(key for key in first if key != _HOME)
        while queue and len(self.starts) < MAX_WORKFLOWS:
            key = queue.popleft()
            if key in self.starts:
                continue
            stored = await self.uow.workflows.get_version(*key)
            started: set[_Key] = set()
            self.starts[key] = started
            for found in _document_references(stored.document if stored else None):
                target = await self.resolve(found.reference, found.version)
                if target is None:
                    continue
                started.add(target)
                if target != _HOME and target not in self.starts:
                    queue.append(target)

    def paths_home(self) -> dict[_Key, _Key]:
        """For each explored workflow version leading back to the saved workflow, the next
        one on a shortest path there."""
        started_by: dict[_Key, list[_Key]] = {}
        for source, targets in self.starts.items():
            for target in targets:
                started_by.setdefault(target, []).append(source)
        towards: dict[_Key, _Key] = {}
        queue = deque([_HOME])
        while queue:
            current = queue.popleft()
            for source in sorted(started_by.get(current, ())):
                if source not in towards:
                    towards[source] = current
                    queue.append(source)
        return towards


def _document_references(document: Any) -> Iterator[_Reference]:
    """The workflows a stored document's nodes start (read without parsing it whole: it was
    validated when it was saved)."""
    nodes = document.get("nodes") if isinstance(document, Mapping) else None
    for node in nodes if isinstance(nodes, list) else ():
        if not isinstance(node, Mapping) or not isinstance(node.get("config"), Mapping):
            continue
        kind = node.get("kind")
        if kind not in (NodeKind.SUB_WORKFLOW, NodeKind.FOR_EACH):
            continue
        found = _reference(str(kind), node["config"])
        if found is not None:
            yield found


def _reference(kind: str, config: Mapping[str, Any]) -> _Reference | None:
    named = workflow_reference(kind, config)
    if named is None:
        return None
    key, reference = named
    if not isinstance(reference, str) or is_template(reference):
        return None  # a template names its workflow only at run time
    version = config.get("version")  # one known only at run time counts as the latest
    pinned = version if isinstance(version, int) and not isinstance(version, bool) else None
    return _Reference(key, reference, pinned if pinned is not None and pinned >= 1 else None)
