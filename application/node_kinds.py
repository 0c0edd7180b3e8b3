"""The node kinds people can use: the built-in ones, and those that installed packages add.

Workers register the kinds they have in the database when they start (and every few
minutes after), the only channel they share with the API. A definition that uses a kind
no worker registered is refused at save; its config is checked against the kind's model
when the saving process has the package too, and only warned about when it has not.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.ports.node_kinds import InstalledKinds, KindDescription, RegisteredKind
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.definition import BUILTIN_KINDS, EXTENSION_KIND_PATTERN, NodeKind, WorkflowDefinition
from domain.node_config import builtin_config_schema
from domain.problems import Problem, join_path

_BUILTIN: tuple[tuple[NodeKind, str, str, dict[str, Any]], ...] = (
    (
        NodeKind.HTTP_REQUEST,
        "HTTP request",
        "Call an HTTP API; retried on network errors, 5xx and 429.",
        # Examples read only the input, with defaults: a node dropped on a canvas must save
        # and run as it is.
        {"method": "GET", "url": "https://api.example.com/orders"},
    ),
    (
        NodeKind.AI_PROMPT,
        "AI prompt",
        "Ask an OpenAI-compatible chat model, with a key from a secret.",
        {
            "model": "gpt-4o-mini",
            "prompt": "Summarise in one sentence: {{ input.text }}",
            "temperature": 0,
            "api_key_secret": "OPENAI_API_KEY",
        },
    ),
    (
        NodeKind.TRANSFORM,
        "Transform",
        "Build JSON from the input and earlier nodes' outputs.",
        {"output": {"greeting": "hello {{ input.name | default('world') }}"}},
    ),
    (
        NodeKind.CONDITION,
        "Condition",
        "Choose a branch: the first case whose expression holds.",
        {
            "cases": [{"when": "large", "if": "input.total | default(0) >= 1000"}],
            "default": "standard",
        },
    ),
    (
        NodeKind.DELAY,
        "Delay",
        "Wait for a while, or until a time; a durable timer.",
        {"seconds": "{{ input.wait_seconds | default(3600) }}"},
    ),
    (
        NodeKind.WAIT_FOR_SIGNAL,
        "Wait for signal",
        "Wait until a named signal is sent to the execution.",
        {"signal": "approval", "timeout_seconds": 86400},
    ),
    (
        NodeKind.SUB_WORKFLOW,
        "Sub-workflow",
        "Run another workflow and wait for its outcome.",
        {"workflow": "enrich-customer", "input": {"customer_id": "{{ input.customer_id }}"}},
    ),
    (
        NodeKind.FOR_EACH,
        "For each",
        "Run another workflow once per item of a list.",
        {
            "items": "{{ input.rows }}",
            "workflow": "process-row",
            "input": {"row": "{{ item }}", "position": "{{ index }}"},
            "parallelism": 5,
        },
    ),
    (NodeKind.NOOP, "No-op", "Do nothing: a join or a placeholder.", {}),
)
BUILTIN_DESCRIPTIONS = tuple(
    KindDescription(
        name=str(kind),
        title=title,
        description=text,
        # Derived from the same description that checks the config at save.
        config_schema=builtin_config_schema(kind),
        example=example,
    )
    for kind, title, text, example in _BUILTIN
)
"""The built-in kinds as the catalogue lists them, each with its config's JSON Schema and
an example config."""


@dataclass(frozen=True)
class KindListing:
    """A kind as the catalogue shows it: built in, or when a worker that has it last said so
    (None: only this process has it, so nothing would run it)."""

    description: KindDescription
    builtin: bool
    last_seen_at: datetime | None = None


class NodeKindCatalogue:
    """The kinds people can choose from, for the API and the console."""

    def __init__(self, uow_factory: UnitOfWorkFactory, installed: InstalledKinds) -> None:
        self._uow_factory = uow_factory
        self._installed = installed

    async def listing(self) -> list[KindListing]:
        return await list_node_kinds(self._uow_factory, self._installed)


async def list_node_kinds(
    uow_factory: UnitOfWorkFactory, installed: InstalledKinds
) -> list[KindListing]:
    """The built-in kinds, then every other kind the workers or this process have, by name."""
    async with uow_factory() as uow:
        registered = {kind.description.name: kind for kind in await uow.node_kinds.registered()}
    listed = [KindListing(description, builtin=True) for description in BUILTIN_DESCRIPTIONS]
    here = {description.name: description for description in installed.descriptions()}
    for name in sorted(registered.keys() | here.keys()):
        found = registered.get(name)
        if found is not None:
            listed.append(KindListing(found.description, False, found.last_seen_at))
        else:
            listed.append(KindListing(here[name], builtin=False))
    return listed


async def register_kinds(
    uow_factory: UnitOfWorkFactory, kinds: Sequence[KindDescription], now: datetime
) -> None:
    """Say that a worker has `kinds` now (a worker calls this at start and every few minutes)."""
    if not kinds:
        return
    async with uow_factory() as uow:
        await uow.node_kinds.register(kinds, now)
        await uow.commit()


@dataclass(frozen=True)
class KindCheck:
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


async def check_node_kinds(
    uow: UnitOfWork, definition: WorkflowDefinition, installed: InstalledKinds
) -> KindCheck:
    """Whether a worker has each installed kind the definition uses, and whether each such
    node's config suits its kind."""
    if not definition.extension_kinds:
        return KindCheck()
    registered = {kind.description.name: kind for kind in await uow.node_kinds.registered()}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for index, node in enumerate(definition.nodes):
        if node.kind in BUILTIN_KINDS:
            continue
        path = join_path("nodes", index)
        if node.kind not in registered:
            problems.append(_unknown_kind(node.kind, path, registered))
            continue
        found = installed.check_config(node.kind, node.config, join_path(path, "config"))
        if found is None:
            warnings.append(_unchecked(node.kind, path, registered[node.kind]))
        problems.extend(found or ())
    return KindCheck(tuple(problems), tuple(warnings))


async def unknown_kinds_in_document(uow: UnitOfWork, document: Any) -> list[Problem]:
    """The kinds of a document that no worker has, read before its shape is valid: a
    document refused for other problems reports these with them."""
    nodes = document.get("nodes") if isinstance(document, Mapping) else None
    named = [
        (index, node["kind"])
        for index, node in enumerate(nodes if isinstance(nodes, list) else ())
        if isinstance(node, Mapping)
        and isinstance(node.get("kind"), str)
        and node["kind"] not in BUILTIN_KINDS
        and EXTENSION_KIND_PATTERN.fullmatch(node["kind"])
    ]
    if not named:
        return []
    registered = {kind.description.name: kind for kind in await uow.node_kinds.registered()}
    return [
        _unknown_kind(kind, join_path("nodes", index), registered)
        for index, kind in named
        if kind not in registered
    ]


def _unknown_kind(kind: str, path: str, registered: dict[str, RegisteredKind]) -> Problem:
    close = difflib.get_close_matches(kind, sorted(registered), n=1, cutoff=0.8)
    if close:
        return Problem(
            "unknown_node_kind",
            join_path(path, "kind"),
            f"No worker has the node kind {kind!r}; did you mean {close[0]!r}?",
        )
    known = ", ".join(sorted(registered)) or "none"
    message = (
        f"No worker has the node kind {kind!r}: install the package that adds it where the"
        f" workers run, and start them (kinds the workers have: {known})."
    )
    return Problem("unknown_node_kind", join_path(path, "kind"), message)


def _unchecked(kind: str, path: str, registered: RegisteredKind) -> Problem:
    package = registered.description.package or "its package"
    message = (
        f"The API does not have {package} installed, so this config of {kind!r} was not"
        " checked at save; the worker checks it when the node runs."
    )
    return Problem("config_not_checked", join_path(path, "config"), message)
