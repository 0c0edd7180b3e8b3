"""Typed, validated configuration for each node kind.

Config may hold templates (any string containing `{{` or `{%`) wherever a scalar is expected;
they are kept as strings here. Executors render the config just before the node runs
and call `parse_node_config` again on the result, so by then every value is concrete.
A field set to `null` counts as not given.

Each kind's document is described once by a `ConfigShape` (`CONFIG_SHAPES`): the keys a
document may hold, the simple checks on each (`FieldReader.read`) and the published JSON
Schema (`builtin_config_schema`) all come from it. The parsers below add the rules that
span fields or that a schema cannot say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.config_fields import ConfigField, ConfigShape
from domain.config_schema import config_schema
from domain.definition import ERROR_LABEL, NodeKind
from domain.field_reader import FieldReader
from domain.network_config import (
    AI_PROMPT_SHAPE,
    HTTP_REQUEST_SHAPE,
    AiPromptConfig,
    HttpRequestConfig,
    parse_ai_prompt,
    parse_http_request,
)
from domain.problems import MAX_DURATION_SECONDS, Problem, is_template, join_path, show

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


@dataclass(frozen=True)
class NoopConfig:
    """Does nothing; useful as a join or a placeholder."""


# ---- The description of each kind's document ------------------------------------------

_OUTPUT = ConfigField(
    "output",
    (),
    "The node's output once rendered: JSON whose strings are templates.",
    required=True,
)
TRANSFORM_SHAPE = ConfigShape("TransformConfig", (_OUTPUT,))

_LABEL_RULE = "letters, digits, _ and -, starting with a letter or _"
_CASE_WHEN = ConfigField(
    "when",
    ("string",),
    f"The label this case yields: {_LABEL_RULE} ({ERROR_LABEL!r} is reserved).",
    required=True,
    template=False,
    pattern=LABEL_PATTERN.pattern,
)
_CASE_IF = ConfigField(
    "if",
    ("string",),
    "A bare expression, evaluated when the node runs; its truthiness decides.",
    required=True,
    template=False,
    min_length=1,
)
_CASE = ConfigField(
    "case",
    ("object",),
    "A label and the expression that chooses it.",
    template=False,
    properties=(_CASE_WHEN, _CASE_IF),
)
_CASES = ConfigField(
    "cases",
    ("array",),
    "Tried in order: the node yields the label of the first case whose expression holds.",
    required=True,
    template=False,
    min_items=1,
    items=_CASE,
)
_DEFAULT_LABEL = ConfigField(
    "default",
    ("string",),
    f"The label when no case holds: {_LABEL_RULE} ({ERROR_LABEL!r} is reserved).",
    template=False,
    pattern=LABEL_PATTERN.pattern,
)
CONDITION_SHAPE = ConfigShape("ConditionConfig", (_CASES, _DEFAULT_LABEL))

_SECONDS = ConfigField(
    "seconds",
    ("number",),
    "How long to wait, in seconds (at most about ten years). Give seconds or until.",
    exclusive_minimum=0,
    maximum=MAX_DURATION_SECONDS,
)
_UNTIL = ConfigField(
    "until",
    ("string",),
    "When to wake: an ISO 8601 date and time such as 2030-01-31T09:00:00Z, read as UTC"
    " without an offset. Give seconds or until.",
    min_length=1,
)
DELAY_SHAPE = ConfigShape("DelayConfig", (_SECONDS, _UNTIL))

_SIGNAL = ConfigField(
    "signal", ("string",), "The name of the signal to wait for.", required=True, min_length=1
)
_TIMEOUT_SECONDS = ConfigField(
    "timeout_seconds",
    ("number",),
    "Give up after this many seconds; wait for ever when not given.",
    title="Timeout (seconds)",
    exclusive_minimum=0,
    maximum=MAX_DURATION_SECONDS,
)
WAIT_FOR_SIGNAL_SHAPE = ConfigShape("WaitForSignalConfig", (_SIGNAL, _TIMEOUT_SECONDS))

_NO_SECRETS = "it cannot read secrets (pass a secret's name instead)"
_CHILD_WORKFLOW = ConfigField(
    "workflow",
    ("string",),
    "The child workflow's name or id (wf_...).",
    required=True,
    min_length=1,
)
_CHILD_WORKFLOW_ID = ConfigField(
    "workflow_id",
    ("string",),
    "The older spelling of workflow: give one of the two.",
    title="Workflow id",
    min_length=1,
    deprecated=True,
)
_CHILD_VERSION = ConfigField(
    "version",
    ("integer",),
    "The version of the child to run; the latest when not given.",
    minimum=1,
)
_CHILD_INPUT = ConfigField(
    "input",
    (),
    f"The child execution's input: JSON whose strings are templates; {_NO_SECRETS}.",
)
SUB_WORKFLOW_SHAPE = ConfigShape(
    "SubWorkflowConfig", (_CHILD_WORKFLOW, _CHILD_WORKFLOW_ID, _CHILD_VERSION, _CHILD_INPUT)
)

_ITEMS = ConfigField(
    "items",
    # A string first: a form edits the first type, and items are most often an expression.
    ("string", "array"),
    "The items: a JSON list, a template such as {{ nodes.fetch.output.rows }}, or a bare"
    " expression such as nodes.fetch.output.rows; it must yield a list.",
    required=True,
    min_length=1,
)
_ITEM_WORKFLOW = ConfigField(
    "workflow",
    ("string",),
    "The workflow to run per item, by name or id (wf_...).",
    required=True,
    min_length=1,
)
_ITEM_VERSION = ConfigField(
    "version",
    ("integer",),
    "The version of the workflow every item runs; the latest when the node starts if not given.",
    minimum=1,
)
_ITEM_INPUT = ConfigField(
    "input",
    (),
    "Each child's input, rendered per item with item and index in scope"
    f' ({{"item": item}} when not given); {_NO_SECRETS}.',
)
_PARALLELISM = ConfigField(
    "parallelism",
    ("integer",),
    "How many items run at once.",
    default=DEFAULT_PARALLELISM,
    minimum=1,
    maximum=MAX_PARALLELISM,
)
_ON_ITEM_ERROR = ConfigField(
    "on_item_error",
    ("string",),
    "fail: the node fails as soon as an item fails for good (the others are cancelled);"
    " continue: the node succeeds with each item's status.",
    title="On item error",
    default="fail",
    template=False,
    enum=ITEM_ERROR_MODES,
    min_length=1,
)
FOR_EACH_SHAPE = ConfigShape(
    "ForEachConfig",
    (_ITEMS, _ITEM_WORKFLOW, _ITEM_VERSION, _ITEM_INPUT, _PARALLELISM, _ON_ITEM_ERROR),
)

NOOP_SHAPE = ConfigShape("NoopConfig", ())

CONFIG_SHAPES: dict[NodeKind, ConfigShape] = {
    NodeKind.HTTP_REQUEST: HTTP_REQUEST_SHAPE,
    NodeKind.AI_PROMPT: AI_PROMPT_SHAPE,
    NodeKind.TRANSFORM: TRANSFORM_SHAPE,
    NodeKind.CONDITION: CONDITION_SHAPE,
    NodeKind.DELAY: DELAY_SHAPE,
    NodeKind.WAIT_FOR_SIGNAL: WAIT_FOR_SIGNAL_SHAPE,
    NodeKind.SUB_WORKFLOW: SUB_WORKFLOW_SHAPE,
    NodeKind.FOR_EACH: FOR_EACH_SHAPE,
    NodeKind.NOOP: NOOP_SHAPE,
}
"""The one description of each built-in kind's config document."""


def builtin_config_schema(kind: NodeKind) -> dict[str, Any]:
    """The JSON Schema of a built-in kind's config, as `GET /api/v1/node-kinds` publishes it."""
    return config_schema(CONFIG_SHAPES[kind])


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
    reader.reject_unknown(CONFIG_SHAPES[kind].names)
    config = _PARSERS[kind](reader)
    if reader.problems or config is None:
        return None, reader.problems
    return config, []


def is_label(value: object) -> bool:
    """Whether `value` can name a branch (and is not the reserved error label)."""
    return isinstance(value, str) and bool(LABEL_PATTERN.fullmatch(value)) and value != ERROR_LABEL


def _transform(r: FieldReader) -> TransformConfig | None:
    output = r.read(_OUTPUT)
    if r.problems:
        return None
    return TransformConfig(output=output)


def _condition(r: FieldReader) -> ConditionConfig | None:
    cases = _cases(r)
    default = _label(r, _DEFAULT_LABEL.name) if r.has(_DEFAULT_LABEL.name) else None
    if r.problems:
        return None
    return ConditionConfig(cases=cases, default=default)


def _cases(r: FieldReader) -> tuple[ConditionCase, ...]:
    if not r.require(_CASES.name):
        return ()
    raw_cases = r.raw[_CASES.name]
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
        case.reject_unknown([item.name for item in _CASE.properties])
        label = _label(case, _CASE_WHEN.name) if case.require(_CASE_WHEN.name) else None
        expression = case.read(_CASE_IF)
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
    seconds = r.read(_SECONDS)
    until = _until(r)
    if r.has("seconds") == r.has("until"):
        key, how = ("until", "not both") if r.has("seconds") else ("seconds", "one is required")
        r.report(key, f"Give either seconds or until ({how}).")
    if r.problems:
        return None
    return DelayConfig(seconds=seconds, until=until)


def _until(r: FieldReader) -> datetime | str | None:
    text: str | None = r.read(_UNTIL)
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
    signal = r.read(_SIGNAL)
    timeout = r.read(_TIMEOUT_SECONDS)
    if r.problems or signal is None:
        return None
    return WaitForSignalConfig(signal=signal, timeout_seconds=timeout)


def _sub_workflow(r: FieldReader) -> SubWorkflowConfig | None:
    workflow = _workflow_reference(r, _CHILD_WORKFLOW)
    version = r.read(_CHILD_VERSION)
    child_input = _child_input(r, _CHILD_INPUT)
    if r.problems or workflow is None:
        return None
    return SubWorkflowConfig(workflow=workflow, version=version, input=child_input)


def _for_each(r: FieldReader) -> ForEachConfig | None:
    items = _items(r)
    workflow = _workflow_reference(r, _ITEM_WORKFLOW)
    version = r.read(_ITEM_VERSION)
    item_input = _child_input(r, _ITEM_INPUT)
    parallelism = r.read(_PARALLELISM)
    on_item_error = r.read(_ON_ITEM_ERROR)
    if r.problems or workflow is None:
        return None
    return ForEachConfig(
        items=items,
        workflow=workflow,
        version=version,
        input=item_input,
        parallelism=parallelism,
        on_item_error=on_item_error,
    )


def _items(r: FieldReader) -> Any:
    """A list or a non-blank expression: a field of two types, which `read` does not check."""
    if not r.require(_ITEMS.name):
        return None
    items = r.raw[_ITEMS.name]
    if isinstance(items, list) or (isinstance(items, str) and items.strip()):
        return items
    message = (
        "items must be a list, or an expression that yields one such as "
        f"'nodes.fetch.output.rows', not {show(items)}."
    )
    r.report("items", message)
    return None


def _workflow_reference(r: FieldReader, workflow: ConfigField) -> str | None:
    """The workflow a node starts, by name or id: `workflow`, or the older `workflow_id`."""
    if r.has("workflow") and r.has("workflow_id"):
        r.report(
            "workflow_id", "Give workflow (a name or an id), not both workflow and workflow_id."
        )
        return None
    chosen = _CHILD_WORKFLOW_ID if r.has("workflow_id") else workflow
    reference: str | None = r.read(chosen)
    return reference


def _child_input(r: FieldReader, child_input_field: ConfigField) -> Any:
    """The input of a child execution, which must not read a secret."""
    child_input = r.read(child_input_field)
    for path in _secret_reading_templates(child_input, r.path(child_input_field.name)):
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


_PARSERS: dict[NodeKind, Callable[[FieldReader], NodeConfig | None]] = {
    NodeKind.HTTP_REQUEST: parse_http_request,
    NodeKind.AI_PROMPT: parse_ai_prompt,
    NodeKind.TRANSFORM: _transform,
    NodeKind.CONDITION: _condition,
    NodeKind.DELAY: _delay,
    NodeKind.WAIT_FOR_SIGNAL: _wait_for_signal,
    NodeKind.SUB_WORKFLOW: _sub_workflow,
    NodeKind.FOR_EACH: _for_each,
    NodeKind.NOOP: _noop,
}
"""Each kind's parser: the rules its `ConfigShape` cannot say, over the simple field checks
it derives."""
