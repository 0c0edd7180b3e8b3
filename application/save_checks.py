"""What is checked when a workflow is saved, beyond the shape `domain.validation` checks.

Every template in a node's config, and every condition's ``if``, is parsed and compiled
by the sandbox that evaluates it, so a syntax error is refused at save time rather than
failing the node at run time. The ``nodes.<id>`` they read must name a node upstream of
the reader (`domain.reference_checks`), a ``sub_workflow`` or ``for_each`` must name a
workflow of the workspace, and it may not lead back to the workflow saved unless
``settings.allow_recursion`` says so (`application.recursion_check`). A kind that an
installed package adds must be one a worker has (`application.node_kinds`). A secret they name
that the workspace does not hold is only a warning: it can be added before the workflow
runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from jinja2 import TemplateSyntaxError, nodes

from application.expressions import check_expression, check_template
from application.node_kinds import check_node_kinds, unknown_kinds_in_document
from application.ports.node_kinds import InstalledKinds, NoInstalledKinds
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import Workflow
from application.recursion_check import Saving, recursion_problems
from application.secret_references import expression_secret_names, template_secret_names
from domain.definition import NodeKind, WorkflowDefinition
from domain.errors import InvalidDefinition
from domain.flow_control import ConcurrencyLimit, RateLimit
from domain.node_config import workflow_reference
from domain.problems import Problem, is_template, join_path
from domain.reference_checks import NodeReference, check_node_references
from domain.validation import parse_definition

NODES_VARIABLE = "nodes"
# `nodes.get('x')` calls the mapping's method unless a node is named so (see the sandbox).
_MAPPING_METHODS = frozenset({"get", "keys", "values", "items"})
_N = TypeVar("_N", bound=nodes.Node)


@dataclass(frozen=True)
class SaveCheck:
    """What the checks found: `problems` refuse the save, `warnings` do not."""

    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SavedWorkflow:
    """A saved workflow and the warnings its checks raised."""

    workflow: Workflow
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class _Field:
    """One template, or one condition's expression, in the config of node `node`."""

    node: str
    path: str
    source: str
    expression: bool


@dataclass(frozen=True)
class _Reading:
    """What parsing one source text found: its error, or the nodes it reads."""

    error: str | None = None
    # (target, is the mapping method of that name when no node is named so)
    targets: tuple[tuple[str, bool], ...] = ()


async def check_document(
    uow_factory: UnitOfWorkFactory,
    workspace_id: str,
    document: Any,
    name: str | None = None,
    installed: InstalledKinds | None = None,
) -> SaveCheck:
    """Every problem and warning with saving `document` in the workspace as a new workflow
    called `name`; stores nothing. `installed`: the node kinds this process has."""
    try:
        definition = await parse_for_save(uow_factory, document)
    except InvalidDefinition as error:
        return SaveCheck(problems=tuple(_problems_of(error)))
    async with uow_factory() as uow:
        return await check_definition(uow, workspace_id, definition, Saving(name=name), installed)


async def parse_for_save(uow_factory: UnitOfWorkFactory, document: Any) -> WorkflowDefinition:
    """The definition `document` describes; raises `InvalidDefinition` with every problem
    of its shape and, with them, every node kind in it that no worker has."""
    try:
        return parse_definition(document)
    except InvalidDefinition as error:
        async with uow_factory() as uow:
            unknown = await unknown_kinds_in_document(uow, document)
        raise InvalidDefinition([*_problems_of(error), *unknown]) from error


async def check_definition(
    uow: UnitOfWork,
    workspace_id: str,
    definition: WorkflowDefinition,
    saving: Saving | None = None,
    installed: InstalledKinds | None = None,
) -> SaveCheck:
    """The save checks of a valid definition, reading the workspace through `uow`.

    `saving` names the workflow saved (a new one has no id yet): a node naming its name or
    id starts the workflow itself, which exists even before it is stored."""
    saving = saving or Saving()
    fields = list(_fields(definition))
    problems = _syntax_and_reference_problems(definition, fields)
    problems.extend(_flow_key_problems(definition))
    own = {reference for reference in (saving.name, saving.workflow_id) if reference}
    problems.extend(await _unknown_workflows(uow, workspace_id, definition, own))
    problems.extend(await recursion_problems(uow, workspace_id, definition, saving))
    kinds = await check_node_kinds(uow, definition, installed or NoInstalledKinds())
    problems.extend(kinds.problems)
    warnings = [*kinds.warnings, *await _unknown_secrets(uow, workspace_id, fields)]
    return SaveCheck(tuple(problems), tuple(warnings))


def refuse_problems(check: SaveCheck) -> None:
    """Raise `InvalidDefinition` (a 422 listing them) if the check found problems."""
    if check.problems:
        raise InvalidDefinition(list(check.problems))


def _problems_of(error: InvalidDefinition) -> Iterator[Problem]:
    for problem in error.problems:
        yield problem if isinstance(problem, Problem) else Problem("invalid", "", str(problem))


def _fields(definition: WorkflowDefinition) -> Iterator[_Field]:
    for index, node in enumerate(definition.nodes):
        base = join_path(join_path("nodes", index), "config")
        items = node.config.get("items")
        if node.kind is NodeKind.FOR_EACH and isinstance(items, str) and not is_template(items):
            # A for_each's `items` may be a bare expression, like a condition's `if`.
            yield _Field(node.id, join_path(base, "items"), items, expression=True)
        if node.kind is NodeKind.CONDITION:
            # A condition's config is not rendered: each case's `if` is one expression.
            for number, case in enumerate(node.config.get("cases") or ()):
                if isinstance(case, Mapping) and isinstance(case.get("if"), str):
                    path = join_path(join_path(join_path(base, "cases"), number), "if")
                    yield _Field(node.id, path, case["if"], expression=True)
        else:
            for path, source in _templates(node.config, base):
                yield _Field(node.id, path, source, expression=False)


def _templates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _templates(item, join_path(path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _templates(item, join_path(path, index))


def _syntax_and_reference_problems(
    definition: WorkflowDefinition, fields: list[_Field]
) -> list[Problem]:
    problems: list[Problem] = []
    references: list[NodeReference] = []
    for field in fields:
        reading = _read(field.source, field.expression)
        if reading.error is not None:
            code = "invalid_expression" if field.expression else "invalid_template"
            problems.append(Problem(code, field.path, reading.error))
            continue
        for target, method in reading.targets:
            if method and target not in definition.by_id:
                continue
            references.append(NodeReference(field.node, target, field.path))
    problems.extend(check_node_references(definition, references))
    return problems


def _flow_key_problems(definition: WorkflowDefinition) -> list[Problem]:
    """The `key` of `settings.concurrency` and `settings.rate_limit` is an expression over
    the run's input, parsed here like a condition's."""
    settings = definition.settings
    limits: dict[str, ConcurrencyLimit | RateLimit | None] = {
        "concurrency": settings.concurrency,
        "rate_limit": settings.rate_limit,
    }
    problems = []
    for name, limit in limits.items():
        if limit is None or limit.key is None:
            continue
        reading = _read(limit.key, True)
        if reading.error is not None:
            path = join_path(join_path("settings", name), "key")
            problems.append(Problem("invalid_expression", path, reading.error))
    return problems


@functools.lru_cache(maxsize=4096)
def _read(source: str, expression: bool) -> _Reading:
    try:
        tree = check_expression(source) if expression else check_template(source)
    except TemplateSyntaxError as error:
        return _Reading(error=_syntax_message(error, expression))
    return _Reading(targets=tuple(_node_targets(tree)))


def _syntax_message(error: TemplateSyntaxError, expression: bool) -> str:
    what = "expression" if expression else "template"
    reason = (error.message or type(error).__name__).rstrip(".")
    # Jinja's errors carry a line number but no column.
    return f"The {what} cannot be read: {reason} (line {error.lineno}); fix its syntax."


def _node_targets(tree: nodes.Node) -> Iterator[tuple[str, bool]]:
    """The node ids `tree` reads as ``nodes.ID`` or ``nodes['ID']``: a computed key such as
    ``nodes[input.which]`` cannot be known before the run and is left out."""
    if any(name.name == NODES_VARIABLE and name.ctx != "load" for name in _all(tree, nodes.Name)):
        return  # `nodes` is assigned in the template: its reads are not the context's
    called = {
        id(call.node)
        for call in _all(tree, nodes.Call)
        if isinstance(call.node, nodes.Getattr) and call.node.attr in _MAPPING_METHODS
    }
    for attribute in _all(tree, nodes.Getattr):
        if _is_nodes(attribute.node):
            yield attribute.attr, id(attribute) in called
    for item in _all(tree, nodes.Getitem):
        key = item.arg
        if _is_nodes(item.node) and isinstance(key, nodes.Const) and isinstance(key.value, str):
            yield key.value, False


def _all(tree: nodes.Node, kind: type[_N]) -> Iterator[_N]:
    """The nodes of `kind` in `tree`, the root included (`find_all` leaves it out)."""
    if isinstance(tree, kind):
        yield tree
    yield from tree.find_all(kind)


def _is_nodes(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == NODES_VARIABLE


async def _unknown_workflows(
    uow: UnitOfWork, workspace_id: str, definition: WorkflowDefinition, own: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    known: dict[str, bool] = {}
    for index, node in enumerate(definition.nodes):
        named = workflow_reference(node.kind, node.config)
        if named is None:
            continue
        key, reference = named
        if not isinstance(reference, str) or is_template(reference):
            continue  # a template names its workflow only at run time
        if reference in own:
            continue  # the workflow itself (see `application.recursion_check`)
        if reference not in known:
            known[reference] = await _workflow_exists(uow, workspace_id, reference)
        if not known[reference]:
            path = join_path(join_path(join_path("nodes", index), "config"), key)
            message = (
                f"There is no workflow with the id or name {reference!r} in this workspace;"
                " name an existing workflow (create the child workflow first)."
            )
            problems.append(Problem("unknown_workflow", path, message))
    return problems


async def _workflow_exists(uow: UnitOfWork, workspace_id: str, reference: str) -> bool:
    if await uow.workflows.get(workspace_id, reference) is not None:
        return True
    return await uow.workflows.get_by_name(workspace_id, reference) is not None


async def _unknown_secrets(
    uow: UnitOfWork, workspace_id: str, fields: list[_Field]
) -> list[Problem]:
    named = [(field, sorted(_secret_names(field))) for field in fields]
    wanted = sorted({name for _, names in named for name in names})
    if not wanted:
        return []
    stored = {secret.name for secret in await uow.secrets.get_many(workspace_id, wanted)}
    warnings: list[Problem] = []
    for field, names in named:
        for name in names:
            if name not in stored:
                message = (
                    f"Node {field.node!r} reads secrets.{name}, but this workspace has no"
                    f" secret {name!r} yet; add it before the workflow runs."
                )
                warnings.append(Problem("unknown_secret", field.path, message))
    return warnings


def _secret_names(field: _Field) -> set[str]:
    # The same names the engine loads for the node (see application/engine/context.py).
    if field.expression:
        return expression_secret_names(field.source)
    return template_secret_names(field.source)
