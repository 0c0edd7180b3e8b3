"""Typed, validated configuration for each node kind.

Config may hold templates (any string containing `{{` or `{%`) wherever a scalar is expected;
they are kept as strings here. Executors render the config just before the node runs
and call `parse_node_config` again on the result, so by then every value is concrete.
A field set to `null` counts as not given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from domain.definition import ERROR_LABEL, NodeKind
from domain.field_reader import FieldReader
from domain.network_config import (
    AiPromptConfig,
    HttpRequestConfig,
    parse_ai_prompt,
    parse_http_request,
)
from domain.problems import Problem, is_template, join_path, show

LABEL_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class TransformConfig:
    """Builds its output from JSON whose strings are templates."""

    output: Any


@dataclass(frozen=True)
class ConditionCase:
    when: str
    expression: str


@dataclass(frozen=True)
class ConditionConfig:
    """Yields the label of the first case whose expression holds, else `default`."""

    cases: tuple[ConditionCase, ...]
    default: str | None = None

    @property
    def labels(self) -> frozenset[str]:
        found = {case.when for case in self.cases}
        if self.default is not None:
            found.add(self.default)
        return frozenset(found)


@dataclass(frozen=True)
class DelayConfig:
    """Waits `seconds`, or until `until` (a datetime without offset is read as UTC)."""

    seconds: float | str | None = None
    until: datetime | str | None = None


@dataclass(frozen=True)
class WaitForSignalConfig:
    signal: str
    timeout_seconds: float | str | None = None


@dataclass(frozen=True)
class SubWorkflowConfig:
    """Starts a child execution of `workflow` (a name or an id; the latest version unless
    `version`). `workflow_id` is the older spelling of `workflow`."""

    workflow: str
    version: int | str | None = None
    input: Any = None

    legacy_keys: ClassVar[tuple[str, ...]] = ("workflow_id",)


ITEM_ERROR_MODES = ("fail", "continue")
DEFAULT_PARALLELISM = 10
MAX_PARALLELISM = 1000


@dataclass(frozen=True)
class ForEachConfig:
    """Runs `workflow` once per element of `items`, at most `parallelism` at a time.

    `items` is a list, or an expression (bare or in `{{ }}`) that yields one; `input` is
    a template rendered per item with `item` and `index` in scope (default
    `{"item": item}`). With `on_item_error: fail` the node fails as soon as an item fails
    for good; with `continue` it succeeds with each item's status.
    """

    items: Any
    workflow: str
    version: int | str | None = None
    input: Any = None
    parallelism: int | str = DEFAULT_PARALLELISM
    on_item_error: str = "fail"

    legacy_keys: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class NoopConfig:
    """Does nothing; useful as a join or a placeholder."""


NodeConfig = (
    HttpRequestConfig
    | AiPromptConfig
    | TransformConfig
    | ConditionConfig
    | DelayConfig
    | WaitForSignalConfig
    | SubWorkflowConfig
    | ForEachConfig
    | NoopConfig
)


def parse_node_config(
    kind: NodeKind, raw: Mapping[str, Any], path: str
) -> tuple[NodeConfig | None, list[Problem]]:
    """The typed config for a node of `kind`, or None and every problem found under `path`."""
    if not isinstance(raw, Mapping):
        message = f"config must be a JSON object, not {show(raw)}."
        return None, [Problem("invalid_config", path, message)]
    reader = FieldReader(raw, path, "invalid_config", missing_code="invalid_config", templates=True)
    config_type, parse = _PARSERS[kind]
    # Each config dataclass's field names are exactly the keys its document may hold.
    allowed = [item.name for item in fields(config_type)]
    reader.reject_unknown([*allowed, *getattr(config_type, "legacy_keys", ())])
    config = parse(reader)
    if reader.problems or config is None:
        return None, reader.problems
    return config, []


def is_label(value: object) -> bool:
    """Whether `value` can name a branch (and is not the reserved error label)."""
    return isinstance(value, str) and bool(LABEL_PATTERN.fullmatch(value)) and value != ERROR_LABEL


def _transform(r: FieldReader) -> TransformConfig | None:
    if "output" not in r.raw:
        r.report("output", "Add the required field 'output'.")
        return None
    return TransformConfig(output=r.json("output"))


def _condition(r: FieldReader) -> ConditionConfig | None:
    cases = _cases(r)
    default = _label(r, "default") if r.has("default") else None
    if r.problems:
        return None
    return ConditionConfig(cases=cases, default=default)


def _cases(r: FieldReader) -> tuple[ConditionCase, ...]:
    if not r.require("cases"):
        return ()
    raw_cases = r.raw["cases"]
    if not isinstance(raw_cases, list) or not raw_cases:
        r.report("cases", 'cases must be a non-empty list of {"when": label, "if": expression}.')
        return ()
    found: list[ConditionCase] = []
    for index, raw_case in enumerate(raw_cases):
        where = join_path(r.path("cases"), index)
        if not isinstance(raw_case, dict):
            example = '{"when": "yes", "if": "..."}'
            message = f"Each case must be an object like {example}, not {show(raw_case)}."
            r.problems.append(Problem("invalid_config", where, message))
            continue
        case = FieldReader(
            raw_case, where, "invalid_config", missing_code="invalid_config", problems=r.problems
        )
        case.reject_unknown(("when", "if"))
        label = _label(case, "when") if case.require("when") else None
        expression = case.text("if", required=True)
        if label is not None and expression is not None:
            found.append(ConditionCase(when=label, expression=expression))
    return tuple(found)


def _label(r: FieldReader, key: str) -> str | None:
    value = r.raw.get(key)
    if is_label(value):
        return str(value)
    if value == ERROR_LABEL:
        r.report(key, f"The label {ERROR_LABEL!r} is reserved for error edges; choose another.")
    else:
        rule = "letters, digits, _ and -, starting with a letter or _"
        r.report(key, f"{key} must be a label made of {rule}, not {show(value)}.")
    return None


def _delay(r: FieldReader) -> DelayConfig | None:
    seconds = r.duration("seconds")
    until = _until(r)
    if r.has("seconds") == r.has("until"):
        key, how = ("until", "not both") if r.has("seconds") else ("seconds", "one is required")
        r.report(key, f"Give either seconds or until ({how}).")
    if r.problems:
        return None
    return DelayConfig(seconds=seconds, until=until)


def _until(r: FieldReader) -> datetime | str | None:
    text = r.text("until")
    if text is None or is_template(text):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "2030-01-31T09:00:00Z"
        r.report("until", f"until must be an ISO-8601 date and time like {example}, not {text!r}.")
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _wait_for_signal(r: FieldReader) -> WaitForSignalConfig | None:
    signal = r.text("signal", required=True)
    timeout = r.duration("timeout_seconds")
    if r.problems or signal is None:
        return None
    return WaitForSignalConfig(signal=signal, timeout_seconds=timeout)


def _sub_workflow(r: FieldReader) -> SubWorkflowConfig | None:
    workflow = _workflow_reference(r)
    version = r.integer("version", minimum=1)
    child_input = _child_input(r)
    if r.problems or workflow is None:
        return None
    return SubWorkflowConfig(workflow=workflow, version=version, input=child_input)


def _for_each(r: FieldReader) -> ForEachConfig | None:
    items = _items(r)
    workflow = _workflow_reference(r)
    version = r.integer("version", minimum=1)
    item_input = _child_input(r)
    parallelism = r.integer("parallelism", minimum=1, maximum=MAX_PARALLELISM)
    on_item_error = r.text("on_item_error")
    if on_item_error is not None and on_item_error not in ITEM_ERROR_MODES:
        r.report(
            "on_item_error", f"on_item_error must be 'fail' or 'continue', not {on_item_error!r}."
        )
    if r.problems or workflow is None:
        return None
    return ForEachConfig(
        items=items,
        workflow=workflow,
        version=version,
        input=item_input,
        parallelism=parallelism if parallelism is not None else DEFAULT_PARALLELISM,
        on_item_error=on_item_error or "fail",
    )


def _items(r: FieldReader) -> Any:
    if not r.require("items"):
        return None
    items = r.raw["items"]
    if isinstance(items, list) or (isinstance(items, str) and items.strip()):
        return items
    message = (
        "items must be a list, or an expression that yields one such as "
        f"'nodes.fetch.output.rows', not {show(items)}."
    )
    r.report("items", message)
    return None


def _workflow_reference(r: FieldReader) -> str | None:
    """The workflow a node starts, by name or id: `workflow`, or the older `workflow_id`."""
    if r.has("workflow") and r.has("workflow_id"):
        r.report(
            "workflow_id", "Give workflow (a name or an id), not both workflow and workflow_id."
        )
        return None
    key = "workflow_id" if r.has("workflow_id") else "workflow"
    return r.text(key, required=True)


def _child_input(r: FieldReader) -> Any:
    child_input = r.json("input")
    for path in _secret_reading_templates(child_input, r.path("input")):
        r.problems.append(Problem("secret_in_child_input", path, _SECRET_IN_CHILD_INPUT))
    return child_input


def workflow_reference(kind: str, config: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The config key and value naming the workflow a node starts (sub_workflow, for_each)."""
    if kind not in (NodeKind.SUB_WORKFLOW, NodeKind.FOR_EACH):
        return None
    key = "workflow_id" if "workflow_id" in config else "workflow"
    return key, config.get(key)


_SECRET_IN_CHILD_INPUT = (
    "A child's input is stored and shown with the child execution, so it cannot "
    "carry a secret: pass the secret's name and read it in the child as secrets.NAME "
    "(the child runs in the same workspace)."
)
_SECRETS_NAME = re.compile(r"(?<![\w.])secrets\b")


def _secret_reading_templates(value: Any, path: str) -> list[str]:
    """The paths of the templates inside `value` that refer to `secrets`."""
    if isinstance(value, str):
        return [path] if is_template(value) and _SECRETS_NAME.search(value) else []
    if isinstance(value, dict):
        items: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    return [
        found
        for key, item in items
        for found in _secret_reading_templates(item, join_path(path, key))
    ]


def _noop(r: FieldReader) -> NoopConfig | None:
    return NoopConfig()


_PARSERS: dict[NodeKind, tuple[type[NodeConfig], Callable[[FieldReader], NodeConfig | None]]] = {
    NodeKind.HTTP_REQUEST: (HttpRequestConfig, parse_http_request),
    NodeKind.AI_PROMPT: (AiPromptConfig, parse_ai_prompt),
    NodeKind.TRANSFORM: (TransformConfig, _transform),
    NodeKind.CONDITION: (ConditionConfig, _condition),
    NodeKind.DELAY: (DelayConfig, _delay),
    NodeKind.WAIT_FOR_SIGNAL: (WaitForSignalConfig, _wait_for_signal),
    NodeKind.SUB_WORKFLOW: (SubWorkflowConfig, _sub_workflow),
    NodeKind.FOR_EACH: (ForEachConfig, _for_each),
    NodeKind.NOOP: (NoopConfig, _noop),
}
