"""Node kinds that installed packages add: found through the `treadle.nodes` entry points,
described for the catalogue (title, JSON Schema of the config), checked at save, and run
like the network nodes (the attempt is recorded first; retries and timeouts apply).

A package that fails to load, or that names a kind badly or twice, is logged and left out:
the process serves every other kind, and the registry shows which ones it has.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from application.nodes.rendered_config import invalid_config
from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from application.ports.node_kinds import KindDescription
from application.redaction import redact
from domain.definition import BUILTIN_KINDS, EXTENSION_KIND_PATTERN
from domain.policies import NodeError
from domain.problems import Problem, is_template, join_path
from treadle_nodes import ENTRY_POINT_GROUP, NodeContext, NodeFailure, PluginKind

logger = logging.getLogger("treadle.plugins")


@dataclass(frozen=True)
class LoadedKind:
    """A kind, the package (name and version) it came from, and its description."""

    kind: PluginKind[Any]
    package: str | None
    description: KindDescription
    """Built once when loaded: the catalogue never changes after, and its JSON Schema is
    read on every listing and every registration."""


@dataclass
class PluginCatalog:
    """The kinds installed in this process: their descriptions, the save-time check of a
    config, and an executor for each."""

    loaded: dict[str, LoadedKind] = field(default_factory=dict)

    @classmethod
    def of(cls, kinds: Iterable[PluginKind[Any]], package: str | None = None) -> PluginCatalog:
        """A catalogue of the given kinds (tests, or a program that embeds the engine)."""
        catalog = cls()
        for kind in kinds:
            catalog.add(kind, package)
        return catalog

    def add(self, kind: PluginKind[Any], package: str | None) -> None:
        problem = _naming_problem(kind, self.loaded)
        if problem is not None:
            logger.error("node kind left out: %s", problem)
            return
        self.loaded[kind.name] = LoadedKind(kind, package, _describe(kind, package))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.loaded))

    def descriptions(self) -> Sequence[KindDescription]:
        return [found.description for _, found in sorted(self.loaded.items())]

    def check_config(self, kind: str, config: Mapping[str, Any], path: str) -> list[Problem] | None:
        found = self.loaded.get(kind)
        if found is None:
            return None
        return config_problems(found.kind.config, config, path, templates=True)

    def executors(self) -> dict[str, PluginExecutor]:
        return {name: PluginExecutor(found.kind) for name, found in self.loaded.items()}


@functools.cache
def installed_kinds(group: str = ENTRY_POINT_GROUP) -> PluginCatalog:
    """Every kind the installed packages list under the entry point `group`."""
    catalog = PluginCatalog()
    for entry_point in entry_points(group=group):
        for kind in _kinds_of(entry_point):
            catalog.add(kind, _package_of(entry_point))
    return catalog


def _kinds_of(entry_point: EntryPoint) -> Iterator[PluginKind[Any]]:
    try:
        loaded = entry_point.load()
    except Exception as error:  # a broken package must not stop the process
        logger.error("could not load node kinds from %s: %s", entry_point.value, error)
        return
    for item in loaded if isinstance(loaded, list | tuple) else [loaded]:
        if isinstance(item, PluginKind):
            yield item
        else:
            logger.error("entry point %s names %r, not a node kind", entry_point.value, item)


def _package_of(entry_point: EntryPoint) -> str | None:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else None


def _naming_problem(kind: PluginKind[Any], loaded: Mapping[str, LoadedKind]) -> str | None:
    if kind.name in BUILTIN_KINDS:
        return f"{kind.name!r} is a built-in kind"
    if not EXTENSION_KIND_PATTERN.fullmatch(kind.name):
        return f"{kind.name!r} is not a kind name (lower-case words joined by _ or .)"
    if kind.name in loaded:
        return f"{kind.name!r} is added by two packages"
    if not (isinstance(kind.config, type) and issubclass(kind.config, BaseModel)):
        return f"{kind.name!r}: its config must be a pydantic model"
    return None


def _describe(kind: PluginKind[Any], package: str | None) -> KindDescription:
    return KindDescription(
        name=kind.name,
        title=kind.title,
        description=kind.description,
        config_schema=kind.config.model_json_schema(),
        example=dict(kind.example) if kind.example is not None else None,
        package=package,
    )


def config_problems(
    model: type[BaseModel], config: Mapping[str, Any], path: str, *, templates: bool
) -> list[Problem]:
    """What the model finds wrong with `config`. With `templates`, a field that holds a
    template stands for whatever it will render to, so its own errors are not problems."""
    try:
        model.model_validate(dict(config))
    except ValidationError as error:
        return [
            Problem("invalid_config", _error_path(path, item["loc"]), item["msg"])
            for item in error.errors()
            if not (templates and _under_template(config, item["loc"]))
        ]
    return []


def _error_path(base: str, location: Sequence[int | str]) -> str:
    for key in location:
        base = join_path(base, key)
    return base


def _under_template(config: Any, location: Sequence[int | str]) -> bool:
    """Whether the value at `location`, or one that holds it, is a template."""
    value = config
    for key in location:
        if is_template(value):
            return True
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return False
    return is_template(value)


class PluginExecutor:
    """Runs attempts of one installed kind: parses the rendered config into its model, calls
    the package's function, and turns what it returns or raises into the node's result."""

    def __init__(self, kind: PluginKind[Any]) -> None:
        self.kind = kind

    async def run(self, call: NodeCall) -> NodeResult:
        try:
            config = self.kind.config.model_validate(dict(call.config))
        except ValidationError:
            return invalid_config(
                config_problems(self.kind.config, call.config, "config", templates=False)
            )
        try:
            returned = await self.kind.run(config, _context(call))
        except NodeFailure as failure:
            return Failed(_failure_error(failure, call))
        except Exception as error:  # the package's bug or its service's: retried by policy
            message = redact(f"{type(error).__name__}: {error}", call.sensitive_texts)
            return Failed(NodeError("plugin_error", message))
        return _output(returned)


def _context(call: NodeCall) -> NodeContext:
    extra = {"execution_id": call.execution_id, "node_id": call.node_id, "attempt": call.attempt}
    return NodeContext(
        execution_id=call.execution_id,
        workspace_id=call.workspace_id,
        workflow_id=call.workflow_id,
        node_id=call.node_id,
        attempt=call.attempt,
        idempotency_key=call.idempotency_key,
        now=call.now,
        deadline=call.deadline,
        secrets=dict(call.secrets),
        log=_RedactingLog(logging.getLogger(f"treadle.nodes.{call.kind}"), extra, call),
    )


class _RedactingLog(logging.LoggerAdapter[logging.Logger]):
    """A package's log records, with the node's ids and without its secret values."""

    def __init__(self, inner: logging.Logger, extra: Mapping[str, object], call: NodeCall) -> None:
        super().__init__(inner, extra)
        self._sensitive = call.sensitive_texts

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        # Formatted here, so that a secret passed as an argument is blanked out too.
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            message, options = self.process(redact(text, self._sensitive), kwargs)
            self.logger.log(level, message, **options)


def _failure_error(failure: NodeFailure, call: NodeCall) -> NodeError:
    details: dict[str, object] = redact(dict(failure.details), call.sensitive_texts)
    if failure.retry_after is not None and math.isfinite(failure.retry_after):
        details["retry_after_seconds"] = max(failure.retry_after, 0.0)
    message = redact(failure.message, call.sensitive_texts)
    return NodeError(failure.kind, message, retryable=failure.retryable, details=details or None)


def _output(returned: Any) -> NodeResult:
    """The node's output: what the function returned, as JSON."""
    value = returned.model_dump(mode="json") if isinstance(returned, BaseModel) else returned
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        message = f"the node kind returned an output that is not JSON: {error}"
        return Failed(NodeError("invalid_output", message, retryable=False))
    return Succeeded(value)
