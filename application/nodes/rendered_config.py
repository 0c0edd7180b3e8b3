"""A node's config after rendering, as its kind's type — or the failure that says why not.

Templates can turn a valid config into an invalid one (a number rendered as text, an
empty URL), so every executor validates what it actually received.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from application.ports.executors import Failed, NodeCall
from domain.definition import builtin_kind
from domain.node_config import parse_node_config
from domain.policies import NodeError
from domain.problems import Problem

C = TypeVar("C")


def invalid_config(problems: Sequence[Problem]) -> Failed:
    """A permanent failure listing every problem of a rendered config."""
    listed = "; ".join(f"{problem.path}: {problem.message}" for problem in problems)
    details: dict[str, object] = {"problems": [problem.as_dict() for problem in problems]}
    message = f"The node's config is invalid after rendering: {listed}"
    return Failed(NodeError("invalid_config", message, retryable=False, details=details))


def typed_config(call: NodeCall, config_type: type[C]) -> C | Failed:
    """The call's rendered config parsed as `config_type`, validated once."""
    kind = builtin_kind(call.kind)
    if kind is None:
        raise ValueError(f"{call.kind!r} is not a built-in kind")
    config, problems = parse_node_config(kind, call.config, "config")
    if problems or not isinstance(config, config_type):
        return invalid_config(problems)
    return config
