"""What a package needs to add node kinds to Treadle.

A kind is an async function that runs one attempt, with the node's config (rendered from
its templates, then parsed into the kind's pydantic model) and a `NodeContext`::

    from pydantic import BaseModel
    from treadle_nodes import NodeContext, NodeFailure, node_kind

    class LookupConfig(BaseModel):
        email: str

    @node_kind("crm.lookup_customer", title="Look up a customer", config=LookupConfig)
    async def lookup_customer(config: LookupConfig, context: NodeContext) -> dict:
        ...

The package lists its kinds under the `treadle.nodes` entry point group (an entry point
names one kind or a list of them); the API and the workers load every installed one when
they start. What the function returns is the node's output, and must be JSON (a pydantic
model is dumped as JSON). Raising `NodeFailure` fails the attempt with an error kind that
retry policies name; any other exception fails it as `plugin_error`, retried like a
network failure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["ENTRY_POINT_GROUP", "NodeContext", "NodeFailure", "PluginKind", "node_kind"]

ENTRY_POINT_GROUP = "treadle.nodes"
"""The entry point group under which packages list their node kinds."""

ConfigT = TypeVar("ConfigT", bound=BaseModel)


@dataclass(frozen=True)
class NodeContext:
    """Where an attempt runs: its execution, node and attempt number; the idempotency key
    to hand to services that deduplicate (the same for every attempt of the node); when it
    must be done by; the secrets the node's config templates read; and a logger whose
    records carry the execution and node ids, with secret values blanked out."""

    execution_id: str
    workspace_id: str
    workflow_id: str
    node_id: str
    attempt: int
    idempotency_key: str
    now: datetime
    log: logging.LoggerAdapter[logging.Logger]
    deadline: datetime | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)


class NodeFailure(Exception):
    """Fail this attempt with an error the workflow's retry policy understands.

    `kind` is the error kind that `retry.non_retryable` lists name; `retryable=False`
    fails the node at once; `retry_after` (seconds) asks for at least that long before the
    next attempt (never past the policy's longest wait). `details` must be JSON."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "node_failure",
        retryable: bool = True,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after
        self.details = dict(details or {})


@dataclass(frozen=True)
class PluginKind(Generic[ConfigT]):
    """A node kind a package adds: its `name` in definitions (lower-case words joined by
    `_`, optionally namespaced with dots), a `title` and `description` for the console's
    palette, the pydantic model of its `config` (its JSON Schema is the console's form and
    the save-time check), an `example` config, and the function that runs an attempt."""

    name: str
    title: str
    config: type[ConfigT]
    run: Callable[[ConfigT, NodeContext], Awaitable[Any]]
    description: str = ""
    example: Mapping[str, Any] | None = None


def node_kind(
    name: str,
    *,
    title: str,
    config: type[ConfigT],
    description: str | None = None,
    example: Mapping[str, Any] | None = None,
) -> Callable[[Callable[[ConfigT, NodeContext], Awaitable[Any]]], PluginKind[ConfigT]]:
    """Make an async function a node kind; the description defaults to its docstring."""

    def make(run: Callable[[ConfigT, NodeContext], Awaitable[Any]]) -> PluginKind[ConfigT]:
        text = description if description is not None else (run.__doc__ or "")
        return PluginKind(name, title, config, run, " ".join(text.split()), example)

    return make
