"""Workflow tests and the requests nodes send: an answer's `delay_seconds` on the fake
clock, answers chosen by the rendered request (`when`), and `expect.calls`."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from application.workflow_tests import CaseResult, TestFileError, parse_test_file, run_test_file
from entrypoints.cli.main import app
from entrypoints.containers import workflow_test_engine
from entrypoints.workflow_testing import run_workflow

SECRET = "sk-live-0123456789"

SLOW_API: dict[str, Any] = {
    "nodes": [
        {
            "id": "fetch",
            "kind": "http_request",
            "timeout": 2,
            "config": {"url": "https://api.example.com/report"},
            "retry": {"max_attempts": 2, "initial_interval": 10},
        }
    ],
    "edges": [],
}

SEARCH: dict[str, Any] = {
    "nodes": [
        {
            "id": "search",
            "kind": "http_request",
            "config": {
                "method": "POST",
                "url": "https://api.example.com/search?q={{ input.q }}",
                "headers": {"Authorization": "Bearer {{ secrets.api_key }}", "X-Team": "ops"},
                "json": {"query": "{{ input.q }}", "limit": 5},
            },
            "retry": {"max_attempts": 2, "initial_interval": 1},
        }
    ],
    "edges": [],
}

SUMMARISE: dict[str, Any] = {
    "nodes": [
        {
            "id": "summarise",
            "kind": "ai_prompt",
            "config": {"model": "m", "prompt": "Summarise {{ input.topic }}"},
        }
    ],
    "edges": [],
}

COMPLETION = {"model": "m", "choices": [{"message": {"content": "Short."}}]}


def treadle_test(*args: str) -> Result:
    return CliRunner().invoke(app, ["test", *args], catch_exceptions=False)


def run_inline(workflow: dict[str, Any], cases: str) -> list[CaseResult]:
    """The cases (YAML, under `cases:`) against `workflow`, on the test engine."""
    parsed = parse_test_file(yaml.safe_load("workflow: (inline)\ncases:\n" + cases))
    return asyncio.run(run_test_file(parsed, "workflow", workflow, workflow_test_engine))


# ---- delay_seconds -------------------------------------------------------------------------


def test_a_delay_shorter_than_the_timeout_is_answered_and_moves_the_fake_clock() -> None:
    ran = run_workflow(SLOW_API, responses={"fetch": [{"delay_seconds": 1.5, "body": "ok"}]})

    assert ran.status == "completed", ran.error
    assert ran.nodes["fetch"]["attempts"] == 1
    assert ran.seconds == 1.5


def test_a_delay_reaching_the_timeout_fails_the_attempt_as_a_timeout_and_is_retried() -> None:
    slow, quick = {"delay_seconds": 2.5, "body": "late"}, {"delay_seconds": 0.5, "body": "ok"}

    ran = run_workflow(SLOW_API, responses={"fetch": [slow, quick]})

    assert ran.status == "completed", ran.error
    assert ran.nodes["fetch"]["attempts"] == 2
    assert ran.nodes["fetch"]["output"]["body"] == "ok"
    # The first attempt used its 2 s, the retry waited 10 s, the second took 0.5 s.
    assert ran.seconds == 12.5


def test_a_timed_out_attempt_has_the_executors_timeout_error() -> None:
    slow = {"delay_seconds": 2, "body": "late"}

    ran = run_workflow(SLOW_API, responses={"fetch": [slow, slow]})

    assert ran.status == "failed"
    error = ran.nodes["fetch"]["error"]
    assert (error["kind"], error["retryable"]) == ("timeout", True)
    assert error["message"] == "GET https://api.example.com/report did not finish within 2 s."


def test_without_a_node_timeout_the_executors_default_budget_applies() -> None:
    no_timeout = {**SLOW_API, "nodes": [{**SLOW_API["nodes"][0], "timeout": None}]}
    del no_timeout["nodes"][0]["timeout"]

    ran = run_workflow(no_timeout, responses={"fetch": [{"delay_seconds": 45}] * 2})

    assert ran.nodes["fetch"]["error"]["message"].endswith("did not finish within 30 s.")


def test_long_delays_take_no_real_time_and_outlast_a_workers_lease() -> None:
    patient = {**SLOW_API, "nodes": [{**SLOW_API["nodes"][0], "timeout": 7200}]}
    started = time.monotonic()

    ran = run_workflow(patient, responses={"fetch": [{"delay_seconds": 3600, "body": "ok"}]})

    assert time.monotonic() - started < 5
    assert ran.status == "completed", ran.error
    assert ran.nodes["fetch"]["attempts"] == 1
    assert ran.seconds == 3600


def test_calls_made_side_by_side_overlap_on_the_fake_clock() -> None:
    child = {"nodes": [{"id": "f", "kind": "http_request", "config": {"url": "https://a.test/"}}]}
    parent = {
        "nodes": [
            {
                "id": "each",
                "kind": "for_each",
                "config": {"items": "input.items", "workflow": "child"},
            }
        ],
        "edges": [],
    }

    ran = run_workflow(
        parent,
        {"items": [1, 2, 3]},
        workflows={"child": {**child, "edges": []}},
        responses={"child.f": [{"delay_seconds": 20, "body": "ok"}]},
    )

    assert ran.status == "completed", ran.error
    assert ran.seconds == 20
    assert len(ran.calls["child.f"]) == 3


def test_slow_calls_can_use_up_the_executions_time() -> None:
    two_calls = {
        "settings": {"execution_timeout": 10},
        "nodes": [
            {"id": "a", "kind": "http_request", "config": {"url": "https://a.test/"}},
            {"id": "b", "kind": "http_request", "config": {"url": "https://b.test/"}},
        ],
        "edges": [{"from": "a", "to": "b"}],
    }
    slow = [{"delay_seconds": 8}]

    ran = run_workflow(two_calls, responses={"a": slow, "b": slow})

    assert ran.status == "timed_out"
    assert ran.error is not None and ran.error["kind"] == "execution_timeout"
    assert ran.nodes["a"]["status"] == "succeeded"


def test_a_delay_is_allowed_on_a_network_error_and_must_be_a_positive_number() -> None:
    ran = run_workflow(
        SLOW_API, responses={"fetch": [{"error": "connection", "delay_seconds": 1}, {}]}
    )
    assert (ran.status, ran.seconds) == ("completed", 11)

    with pytest.raises(TestFileError, match=r"responses.fetch\[0\].delay_seconds: a number"):
        run_workflow(SLOW_API, responses={"fetch": [{"delay_seconds": -1}]})


# ---- when ----------------------------------------------------------------------------------


def test_an_answer_is_chosen_by_the_rendered_request() -> None:
    responses = {
        "search": [
            {"when": {"body": {"query": "cats"}}, "body": {"hits": ["cat"]}},
            {"when": {"url_contains": "q=dogs", "method": "post"}, "body": {"hits": ["dog"]}},
        ]
    }

    cats = run_workflow(SEARCH, {"q": "cats"}, secrets={"api_key": SECRET}, responses=responses)
    dogs = run_workflow(SEARCH, {"q": "dogs"}, secrets={"api_key": SECRET}, responses=responses)

    assert cats.output == {"search": cats.nodes["search"]["output"]}
    assert cats.nodes["search"]["output"]["body"] == {"hits": ["cat"]}
    assert dogs.nodes["search"]["output"]["body"] == {"hits": ["dog"]}


def test_a_matching_when_answers_every_attempt_and_the_others_keep_their_order() -> None:
    responses = {
        "search": [
            {"status": 503},
            {"when": {"body_contains": '"birds"'}, "status": 503},
            {"body": {"hits": []}},
        ]
    }

    birds = run_workflow(SEARCH, {"q": "birds"}, secrets={"api_key": SECRET}, responses=responses)
    fish = run_workflow(SEARCH, {"q": "fish"}, secrets={"api_key": SECRET}, responses=responses)

    assert (birds.status, birds.nodes["search"]["attempts"]) == ("failed", 2)
    assert birds.nodes["search"]["error"]["kind"] == "http_status"
    assert (fish.status, fish.nodes["search"]["attempts"]) == ("completed", 2)
    assert fish.nodes["search"]["output"]["body"] == {"hits": []}


def test_a_request_no_answer_matches_fails_the_case_naming_the_request(tmp_path: Path) -> None:
    (tmp_path / "workflow.json").write_text(json.dumps(SEARCH))
    (tmp_path / "workflow.test.yaml").write_text(
        f"""workflow: workflow.json
cases:
  - name: only cats are scripted
    input: {{q: dogs}}
    secrets: {{api_key: {SECRET}}}
    responses:
      search: [{{when: {{url: "https://api.example.com/search?q=cats"}}, body: {{hits: []}}}}]
    expect: {{status: completed}}
"""
    )

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert (
        "no response scripted for search (attempt 1): POST https://api.example.com/search?q=dogs"
        ' with body {"query":"dogs","limit":5}'
    ) in result.output
    assert SECRET not in result.output


def test_a_when_with_nothing_to_match_or_a_bad_field_is_refused() -> None:
    with pytest.raises(TestFileError, match=r"search\[0\].when: name what to match"):
        run_workflow(SEARCH, responses={"search": [{"when": {}}]})
    with pytest.raises(TestFileError, match=r"search\[0\].when: unknown field 'path'"):
        run_workflow(SEARCH, responses={"search": [{"when": {"path": "/search"}}]})
    with pytest.raises(TestFileError, match=r"search\[0\].when.url_contains: a string"):
        run_workflow(SEARCH, responses={"search": [{"when": {"url_contains": 5}}]})


# ---- expect.calls --------------------------------------------------------------------------

CALLS_MET = f"""
  - name: the search sends the query
    input: {{q: cats}}
    secrets: {{api_key: {SECRET}}}
    responses:
      search: [{{status: 503}}, {{body: {{hits: []}}}}]
    expect:
      status: completed
      calls:
        search:
          - method: post
            url: "https://api.example.com/search?q=cats"
            headers: {{x-team: ops, Content-Type: application/json}}
            body: {{query: cats}}
          - body: {{query: cats, limit: 5}}
"""


def test_the_calls_each_node_sent_are_checked_in_order() -> None:
    [result] = run_inline(SEARCH, CALLS_MET)

    assert result.passed, result.failures


def test_a_calls_mismatch_prints_a_diff_of_the_fields_named() -> None:
    cases = """
  - name: the wrong query, one call too few
    input: {q: cats}
    secrets: {api_key: sk-other-value}
    responses:
      search: [{status: 503}, {body: {hits: []}}]
    expect:
      calls:
        search:
          - {method: GET, headers: {X-Team: dev}, body: {query: dogs}}
"""
    [result] = run_inline(SEARCH, cases)

    assert not result.passed
    [failure] = result.failures
    assert failure.splitlines()[:2] == ["--- expected", "+++ actual"]
    for line in (
        '-          "query": "dogs"',
        '+          "limit": 5,',
        '+          "query": "cats"',
        '-          "X-Team": "dev"',
        '+          "X-Team": "ops"',
        '-        "method": "GET"',
        '+        "method": "POST"',
        # The retry was not expected: it shows with its method, URL and body.
        '+        "url": "https://api.example.com/search?q=cats"',
    ):
        assert line in failure.splitlines(), failure


def test_a_calls_expectation_never_prints_a_secret() -> None:
    cases = f"""
  - name: the token is compared in clear
    input: {{q: cats}}
    secrets: {{api_key: {SECRET}}}
    responses:
      search: [{{body: {{hits: []}}}}]
    expect:
      calls:
        search:
          - headers: {{authorization: "Bearer {SECRET}-old"}}
            body: {{query: "{SECRET}"}}
"""
    [result] = run_inline(SEARCH, cases)

    text = "\n".join(result.failures)
    assert not result.passed
    assert SECRET not in text
    assert '-          "authorization": "Bearer [redacted]-old"' in text
    assert '+          "authorization": "[redacted]"' in text


def test_the_requests_sent_are_given_back_with_secrets_redacted() -> None:
    ran = run_workflow(
        SEARCH, {"q": "cats"}, secrets={"api_key": SECRET}, responses={"search": [{}]}
    )

    [call] = ran.calls["search"]
    assert SECRET not in json.dumps(ran.calls)
    assert (call["method"], call["body"]) == ("POST", {"query": "cats", "limit": 5})
    assert call["headers"]["authorization"] == "[redacted]"
    assert call["headers"]["x-team"] == "ops"


def test_an_ai_prompts_call_is_its_chat_completions_request() -> None:
    cases = """
  - name: the prompt is rendered into the request
    input: {topic: tides}
    responses:
      summarise: [{body: {model: m, choices: [{message: {content: Short.}}]}}]
    expect:
      status: completed
      calls:
        summarise:
          - method: POST
            url: https://api.openai.com/v1/chat/completions
            body: {model: m, messages: [{role: user, content: Summarise tides}]}
"""
    [result] = run_inline(SUMMARISE, cases)

    assert result.passed, result.failures


def test_a_calls_expectation_must_list_requests() -> None:
    cases = """
  - name: not a list
    expect: {calls: {search: {method: GET}}}
"""
    with pytest.raises(TestFileError, match=r"expect.calls.search: a list of the requests"):
        run_inline(SEARCH, cases)
