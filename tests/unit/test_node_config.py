"""Typed node config: defaults, every rule with its code and path, and template leniency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.definition import NodeKind
from domain.network_config import (
    DEFAULT_AI_BASE_URL,
    DEFAULT_API_KEY_SECRET,
    AiPromptConfig,
    HttpRequestConfig,
)
from domain.node_config import (
    ConditionCase,
    ConditionConfig,
    DelayConfig,
    ForEachConfig,
    NodeConfig,
    NoopConfig,
    SubWorkflowConfig,
    TransformConfig,
    WaitForSignalConfig,
    parse_node_config,
)

PATH = "nodes[3].config"


def parsed(kind: NodeKind, raw: dict[str, Any]) -> NodeConfig:
    config, problems = parse_node_config(kind, raw, PATH)
    assert problems == []
    assert config is not None
    return config


def problems_of(kind: NodeKind, raw: Any) -> set[tuple[str, str]]:
    config, problems = parse_node_config(kind, raw, PATH)
    assert config is None
    assert problems, "expected at least one problem"
    assert all(problem.message.endswith(".") for problem in problems)
    return {(problem.code, problem.path) for problem in problems}


# ---- http_request ------------------------------------------------------------------------


def test_http_request_defaults() -> None:
    config = parsed(NodeKind.HTTP_REQUEST, {"url": "https://example.com/a"})

    assert config == HttpRequestConfig(url="https://example.com/a")
    assert isinstance(config, HttpRequestConfig)
    assert config.method == "GET"
    assert config.json is None and config.body is None
    assert config.retry_on_status == ()


def test_http_request_full() -> None:
    raw = {
        "method": "post",
        "url": "http://api.local/items",
        "query": {"page": 2, "tags": ["a"]},
        "headers": {"X-Trace": "abc"},
        "json": {"name": "x", "n": [1, 2]},
        "retry_on_status": [408, 429],
        "max_response_bytes": 1024,
    }
    config = parsed(NodeKind.HTTP_REQUEST, raw)

    assert config == HttpRequestConfig(
        url="http://api.local/items",
        method="POST",
        query={"page": 2, "tags": ["a"]},
        headers={"X-Trace": "abc"},
        json={"name": "x", "n": [1, 2]},
        retry_on_status=(408, 429),
        max_response_bytes=1024,
    )


def test_http_request_body_is_a_string() -> None:
    config = parsed(NodeKind.HTTP_REQUEST, {"url": "https://e.com", "body": ""})

    assert isinstance(config, HttpRequestConfig)
    assert config.body == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {("invalid_config", f"{PATH}.url")}),
        ({"url": ""}, {("invalid_config", f"{PATH}.url")}),
        ({"url": "ftp://example.com"}, {("invalid_config", f"{PATH}.url")}),
        ({"url": "example.com/path"}, {("invalid_config", f"{PATH}.url")}),
        ({"url": "https://e.com", "method": "FETCH"}, {("invalid_config", f"{PATH}.method")}),
        ({"url": "https://e.com", "query": [1]}, {("invalid_config", f"{PATH}.query")}),
        ({"url": "https://e.com", "headers": "x"}, {("invalid_config", f"{PATH}.headers")}),
        (
            {"url": "https://e.com", "headers": {"X-Count": 3}},
            {("invalid_config", f"{PATH}.headers.X-Count")},
        ),
        (
            {"url": "https://e.com", "json": {"a": 1}, "body": "raw"},
            {("invalid_config", f"{PATH}.body")},
        ),
        ({"url": "https://e.com", "body": 5}, {("invalid_config", f"{PATH}.body")}),
        (
            {"url": "https://e.com", "retry_on_status": 429},
            {("invalid_config", f"{PATH}.retry_on_status")},
        ),
        (
            {"url": "https://e.com", "retry_on_status": [429, 200, 600, "x", True]},
            {
                ("invalid_config", f"{PATH}.retry_on_status[1]"),
                ("invalid_config", f"{PATH}.retry_on_status[2]"),
                ("invalid_config", f"{PATH}.retry_on_status[3]"),
                ("invalid_config", f"{PATH}.retry_on_status[4]"),
            },
        ),
        (
            {"url": "https://e.com", "max_response_bytes": 0},
            {("invalid_config", f"{PATH}.max_response_bytes")},
        ),
        (
            {"url": "https://e.com", "max_response_bytes": 1.5},
            {("invalid_config", f"{PATH}.max_response_bytes")},
        ),
        ({"url": "https://e.com", "timeout": 3}, {("unknown_field", f"{PATH}.timeout")}),
    ],
)
def test_http_request_rules(raw: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert problems_of(NodeKind.HTTP_REQUEST, raw) == expected


def test_http_request_accepts_templates_for_scalars() -> None:
    raw = {
        "method": "{{ input.method }}",
        "url": "{{ input.base }}/items",
        "retry_on_status": ["{{ input.code }}", 429],
        "max_response_bytes": "{{ input.limit }}",
    }
    config = parsed(NodeKind.HTTP_REQUEST, raw)

    assert isinstance(config, HttpRequestConfig)
    assert config.method == "{{ input.method }}"
    assert config.retry_on_status == ("{{ input.code }}", 429)
    assert config.max_response_bytes == "{{ input.limit }}"


def test_a_rendered_config_is_checked_again() -> None:
    rendered = {"url": "https://e.com", "method": "GET", "max_response_bytes": "ten"}

    assert problems_of(NodeKind.HTTP_REQUEST, rendered) == {
        ("invalid_config", f"{PATH}.max_response_bytes")
    }


# ---- ai_prompt ---------------------------------------------------------------------------


def test_ai_prompt_defaults() -> None:
    config = parsed(NodeKind.AI_PROMPT, {"model": "gpt-4o-mini", "prompt": "Hi {{ input.name }}"})

    assert config == AiPromptConfig(model="gpt-4o-mini", prompt="Hi {{ input.name }}")
    assert isinstance(config, AiPromptConfig)
    assert config.base_url == DEFAULT_AI_BASE_URL == "https://api.openai.com/v1"
    assert config.api_key_secret == DEFAULT_API_KEY_SECRET == "OPENAI_API_KEY"
    assert config.json_output is False
    assert config.temperature is None and config.max_tokens is None and config.system is None


def test_ai_prompt_full() -> None:
    raw = {
        "base_url": "http://localhost:11434/v1",
        "model": "llama3",
        "system": "Be brief.",
        "prompt": "Summarise.",
        "temperature": 0,
        "max_tokens": 200,
        "json_output": True,
        "api_key_secret": "LOCAL_KEY",
    }

    assert parsed(NodeKind.AI_PROMPT, raw) == AiPromptConfig(
        model="llama3",
        prompt="Summarise.",
        base_url="http://localhost:11434/v1",
        system="Be brief.",
        temperature=0.0,
        max_tokens=200,
        json_output=True,
        api_key_secret="LOCAL_KEY",
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"json_output": "yes"}, "json_output"),
        ({"system": 3}, "system"),
        ({"base_url": "not a url"}, "base_url"),
        ({"api_key_secret": ""}, "api_key_secret"),
    ],
)
def test_ai_prompt_rules(extra: dict[str, Any], field: str) -> None:
    raw = {"model": "m", "prompt": "p", **extra}

    assert problems_of(NodeKind.AI_PROMPT, raw) == {("invalid_config", f"{PATH}.{field}")}


def test_ai_prompt_requires_model_and_prompt() -> None:
    assert problems_of(NodeKind.AI_PROMPT, {}) == {
        ("invalid_config", f"{PATH}.model"),
        ("invalid_config", f"{PATH}.prompt"),
    }


def test_ai_prompt_accepts_templates_for_numbers_and_flags() -> None:
    raw = {"model": "m", "prompt": "p", "temperature": "{{ t }}", "json_output": "{{ j }}"}
    config = parsed(NodeKind.AI_PROMPT, raw)

    assert isinstance(config, AiPromptConfig)
    assert (config.temperature, config.json_output) == ("{{ t }}", "{{ j }}")


# ---- transform ---------------------------------------------------------------------------


@pytest.mark.parametrize("output", [{"a": "{{ input.x }}", "b": [1, None]}, None, "text", 3])
def test_transform_takes_any_json_output(output: Any) -> None:
    assert parsed(NodeKind.TRANSFORM, {"output": output}) == TransformConfig(output=output)


def test_transform_rules() -> None:
    assert problems_of(NodeKind.TRANSFORM, {}) == {("invalid_config", f"{PATH}.output")}
    assert problems_of(NodeKind.TRANSFORM, {"output": {1, 2}}) == {
        ("invalid_config", f"{PATH}.output")
    }
    assert problems_of(NodeKind.TRANSFORM, {"output": 1, "input": 2}) == {
        ("unknown_field", f"{PATH}.input")
    }


# ---- condition ---------------------------------------------------------------------------


def test_condition_cases_and_labels() -> None:
    raw = {
        "cases": [
            {"when": "big", "if": "input.n > 10"},
            {"when": "small-ish", "if": "input.n > 0"},
            {"when": "big", "if": "input.force"},
        ],
        "default": "_none",
    }
    config = parsed(NodeKind.CONDITION, raw)

    assert isinstance(config, ConditionConfig)
    assert config.cases[0] == ConditionCase(when="big", expression="input.n > 10")
    assert config.default == "_none"
    assert config.labels == {"big", "small-ish", "_none"}


def test_condition_without_default_yields_only_case_labels() -> None:
    config = parsed(NodeKind.CONDITION, {"cases": [{"when": "yes", "if": "true"}]})

    assert isinstance(config, ConditionConfig)
    assert config.labels == {"yes"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {("invalid_config", f"{PATH}.cases")}),
        ({"cases": []}, {("invalid_config", f"{PATH}.cases")}),
        ({"cases": {"when": "a", "if": "x"}}, {("invalid_config", f"{PATH}.cases")}),
        ({"cases": ["a"]}, {("invalid_config", f"{PATH}.cases[0]")}),
        ({"cases": [{"if": "x"}]}, {("invalid_config", f"{PATH}.cases[0].when")}),
        ({"cases": [{"when": "a"}]}, {("invalid_config", f"{PATH}.cases[0].if")}),
        ({"cases": [{"when": "a", "if": ""}]}, {("invalid_config", f"{PATH}.cases[0].if")}),
        ({"cases": [{"when": "1a", "if": "x"}]}, {("invalid_config", f"{PATH}.cases[0].when")}),
        ({"cases": [{"when": "a b", "if": "x"}]}, {("invalid_config", f"{PATH}.cases[0].when")}),
        ({"cases": [{"when": "a\n", "if": "x"}]}, {("invalid_config", f"{PATH}.cases[0].when")}),
        ({"cases": [{"when": "error", "if": "x"}]}, {("invalid_config", f"{PATH}.cases[0].when")}),
        (
            {"cases": [{"when": "a", "if": "x"}], "default": "error"},
            {("invalid_config", f"{PATH}.default")},
        ),
        (
            {"cases": [{"when": "a", "if": "x", "then": "b"}]},
            {("unknown_field", f"{PATH}.cases[0].then")},
        ),
        (
            {"cases": [{"when": "a", "if": "x"}, {"when": "{{ x }}", "if": "y"}]},
            {("invalid_config", f"{PATH}.cases[1].when")},
        ),
    ],
)
def test_condition_rules(raw: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert problems_of(NodeKind.CONDITION, raw) == expected


def test_the_error_label_is_reserved_with_a_clear_message() -> None:
    _, problems = parse_node_config(
        NodeKind.CONDITION, {"cases": [{"when": "error", "if": "x"}]}, PATH
    )

    assert "reserved" in problems[0].message


# ---- delay -------------------------------------------------------------------------------


def test_delay_seconds() -> None:
    assert parsed(NodeKind.DELAY, {"seconds": 1.5}) == DelayConfig(seconds=1.5)
    assert parsed(NodeKind.DELAY, {"seconds": "{{ input.wait }}"}) == DelayConfig(
        seconds="{{ input.wait }}"
    )


def test_delay_until_reads_iso_datetimes() -> None:
    with_offset = parsed(NodeKind.DELAY, {"until": "2030-01-31T09:00:00+02:00"})
    with_z = parsed(NodeKind.DELAY, {"until": "2030-01-31T09:00:00Z"})
    naive = parsed(NodeKind.DELAY, {"until": "2030-01-31T09:00:00"})

    plus_two = timezone(timedelta(hours=2))
    assert with_offset == DelayConfig(until=datetime(2030, 1, 31, 9, tzinfo=plus_two))
    assert with_z == DelayConfig(until=datetime(2030, 1, 31, 9, tzinfo=UTC))
    assert naive == DelayConfig(until=datetime(2030, 1, 31, 9, tzinfo=UTC))


def test_delay_until_accepts_a_template() -> None:
    config = parsed(NodeKind.DELAY, {"until": "{{ input.when }}"})

    assert config == DelayConfig(until="{{ input.when }}")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "seconds"),
        ({"seconds": 1, "until": "2030-01-01T00:00:00Z"}, "until"),
        ({"seconds": 0}, "seconds"),
        ({"seconds": -1}, "seconds"),
        ({"seconds": "soon"}, "seconds"),
        ({"seconds": True}, "seconds"),
        ({"seconds": 1e12}, "seconds"),
        ({"until": "next tuesday"}, "until"),
        ({"until": 1893456000}, "until"),
    ],
)
def test_delay_rules(raw: dict[str, Any], field: str) -> None:
    assert ("invalid_config", f"{PATH}.{field}") in problems_of(NodeKind.DELAY, raw)


# ---- wait_for_signal, sub_workflow, noop -------------------------------------------------


def test_wait_for_signal() -> None:
    assert parsed(NodeKind.WAIT_FOR_SIGNAL, {"signal": "approve"}) == WaitForSignalConfig(
        signal="approve"
    )
    assert parsed(
        NodeKind.WAIT_FOR_SIGNAL, {"signal": "approve", "timeout_seconds": 60}
    ) == WaitForSignalConfig(signal="approve", timeout_seconds=60.0)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "signal"),
        ({"signal": ""}, "signal"),
        ({"signal": "a", "timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_wait_for_signal_rules(raw: dict[str, Any], field: str) -> None:
    assert problems_of(NodeKind.WAIT_FOR_SIGNAL, raw) == {("invalid_config", f"{PATH}.{field}")}


def test_sub_workflow() -> None:
    assert parsed(NodeKind.SUB_WORKFLOW, {"workflow": "child"}) == SubWorkflowConfig("child")
    assert parsed(NodeKind.SUB_WORKFLOW, {"workflow_id": "wf_1"}) == SubWorkflowConfig("wf_1")
    full = {"workflow_id": "child", "version": 2, "input": {"x": "{{ input.x }}"}}
    assert parsed(NodeKind.SUB_WORKFLOW, full) == SubWorkflowConfig(
        workflow="child", version=2, input={"x": "{{ input.x }}"}
    )


def test_for_each() -> None:
    raw = {"items": "nodes.list.output", "workflow": "child", "input": {"n": "{{ item }}"}}
    assert parsed(NodeKind.FOR_EACH, raw) == ForEachConfig(
        items="nodes.list.output", workflow="child", input={"n": "{{ item }}"}
    )
    full = {**raw, "items": [1, 2], "parallelism": 3, "on_item_error": "continue", "version": 1}
    config = parsed(NodeKind.FOR_EACH, full)
    assert (config.parallelism, config.on_item_error, config.version) == (3, "continue", 1)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"workflow": "c"}, "items"),
        ({"items": 3, "workflow": "c"}, "items"),
        ({"items": "", "workflow": "c"}, "items"),
        ({"items": []}, "workflow"),
        ({"items": [], "workflow": "c", "parallelism": 0}, "parallelism"),
        ({"items": [], "workflow": "c", "parallelism": 1001}, "parallelism"),
        ({"items": [], "workflow": "c", "on_item_error": "ignore"}, "on_item_error"),
        ({"items": [], "workflow": "c", "input": {"k": "{{ secrets.KEY }}"}}, "input.k"),
    ],
)
def test_for_each_rules(raw: dict[str, Any], field: str) -> None:
    found = problems_of(NodeKind.FOR_EACH, raw)
    assert {path for _, path in found} == {f"{PATH}.{field}"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "workflow"),
        ({"workflow_id": 7}, "workflow_id"),
        ({"workflow": "c", "workflow_id": "c"}, "workflow_id"),
        ({"workflow_id": "c", "version": 0}, "version"),
    ],
)
def test_sub_workflow_rules(raw: dict[str, Any], field: str) -> None:
    assert problems_of(NodeKind.SUB_WORKFLOW, raw) == {("invalid_config", f"{PATH}.{field}")}


def test_noop_allows_no_keys() -> None:
    assert parsed(NodeKind.NOOP, {}) == NoopConfig()
    assert problems_of(NodeKind.NOOP, {"a": 1, "b": None}) == {
        ("unknown_field", f"{PATH}.a"),
        ("unknown_field", f"{PATH}.b"),
    }


# ---- shared behaviour --------------------------------------------------------------------


def test_null_means_not_given() -> None:
    config = parsed(NodeKind.AI_PROMPT, {"model": "m", "prompt": "p", "system": None})

    assert isinstance(config, AiPromptConfig)
    assert config.system is None
    assert problems_of(NodeKind.AI_PROMPT, {"model": None, "prompt": "p"}) == {
        ("invalid_config", f"{PATH}.model")
    }


def test_a_config_that_is_not_an_object_is_one_problem() -> None:
    assert problems_of(NodeKind.NOOP, ["x"]) == {("invalid_config", PATH)}


def test_every_problem_is_reported_at_once() -> None:
    raw = {"method": "FETCH", "url": "", "max_response_bytes": -1, "extra": 1}

    assert problems_of(NodeKind.HTTP_REQUEST, raw) == {
        ("invalid_config", f"{PATH}.method"),
        ("invalid_config", f"{PATH}.url"),
        ("invalid_config", f"{PATH}.max_response_bytes"),
        ("unknown_field", f"{PATH}.extra"),
    }
