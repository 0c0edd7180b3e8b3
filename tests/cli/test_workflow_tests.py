"""`treadle test`: workflow tests run in memory, on a fake clock, with no server or network."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from entrypoints.cli.main import app

ROOT = Path(__file__).resolve().parents[2]

CALL_API = {
    "name": "call-api",
    "nodes": [
        {
            "id": "create",
            "kind": "http_request",
            "config": {
                "method": "POST",
                "url": "https://api.example.com/orders",
                "json": {"id": "{{ input.id }}"},
            },
            "retry": {"max_attempts": 3, "initial_interval": 60},
        },
        {"id": "done", "kind": "transform", "config": {"output": "{{ nodes.create.output.body }}"}},
    ],
    "edges": [{"from": "create", "to": "done"}],
}

WAIT_A_DAY = {
    "nodes": [
        {"id": "rest", "kind": "delay", "config": {"seconds": 86400}},
        {"id": "ask", "kind": "wait_for_signal", "config": {"signal": "go"}},
        {"id": "done", "kind": "transform", "config": {"output": "{{ nodes.ask.output.payload }}"}},
    ],
    "edges": [{"from": "rest", "to": "ask"}, {"from": "ask", "to": "done"}],
}


def treadle_test(*args: str) -> Result:
    return CliRunner().invoke(app, ["test", *args], catch_exceptions=False)


def write_case(tmp_path: Path, workflow: dict[str, Any], cases: str) -> Path:
    (tmp_path / "workflow.json").write_text(json.dumps(workflow))
    test_file = tmp_path / "workflow.test.yaml"
    test_file.write_text("workflow: workflow.json\ncases:\n" + cases)
    return test_file


def test_the_examples_tests_pass() -> None:
    result = treadle_test(str(ROOT / "examples"))

    assert result.exit_code == 0, result.output
    assert "hello.test.yaml::a short name takes the short branch" in result.output
    assert "flaky-endpoint-retries.test.yaml::two 503s, then the charge goes through" in (
        result.output
    )
    assert "fan-out-fan-in.test.yaml::every repository is scored in its own child" in (
        result.output
    )
    assert "fetch-and-summarise.test.yaml::the page is fetched and summarised" in result.output
    assert "nightly-report.test.yaml::the report is built and posted" in result.output
    examples = {path.parent for path in (ROOT / "examples").glob("*/workflow.json")}
    tested = {path.parent for path in (ROOT / "examples").glob("*/*.test.yaml")}
    assert examples == tested, "every example workflow has a test file"
    assert "FAIL" not in result.output
    assert " passed in " in result.output and "failed" not in result.output


def test_a_broken_expectation_fails_with_a_diff_and_exit_status_1(tmp_path: Path) -> None:
    cases = """
  - name: wrong body
    input: {id: 7}
    responses:
      create: [{status: 201, body: {id: 7, state: open}}]
    expect:
      status: completed
      output: {done: {id: 7, state: closed}}
      nodes:
        create: {status: succeeded, attempts: 1}
  - name: right body
    input: {id: 7}
    responses:
      create: [{status: 201, body: {id: 7, state: open}}]
    expect: {status: completed, output: {done: {id: 7, state: open}}}
"""
    test_file = write_case(tmp_path, CALL_API, cases)

    result = treadle_test(str(tmp_path), "--junit-xml", str(tmp_path / "junit.xml"))

    assert result.exit_code == 1
    assert f"FAIL  {test_file}::wrong body" in result.output
    assert f"PASS  {test_file}::right body" in result.output
    assert "--- expected" in result.output and "+++ actual" in result.output
    assert '-      "state": "closed"' in result.output
    assert '+      "state": "open"' in result.output
    assert "1 passed, 1 failed" in result.output
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["wrong body"]


def test_an_unanswered_http_call_names_the_request(tmp_path: Path) -> None:
    cases = """
  - name: one answer too few
    input: {id: 9}
    responses:
      create: [{status: 503}]
    expect: {status: completed}
"""
    write_case(tmp_path, CALL_API, cases)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "no response scripted for create (attempt 2)" in result.output
    assert 'POST https://api.example.com/orders with body {"id":9}' in result.output


def test_retries_and_network_errors_follow_the_script(tmp_path: Path) -> None:
    cases = """
  - name: a connection error and a timeout, then success
    input: {id: 1}
    responses:
      create:
        - error: connection
        - error: timeout
        - {status: 200, body: ok}
    expect:
      status: completed
      output: {done: ok}
      nodes: {create: {status: succeeded, attempts: 3}}
  - name: a 400 is final
    input: {id: 2}
    responses:
      create: [{status: 400, body: {error: bad id}}]
    expect:
      status: failed
      nodes: {create: {status: failed, attempts: 1}, done: {status: skipped}}
"""
    write_case(tmp_path, CALL_API, cases)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "2 passed" in result.output


def test_a_day_long_delay_and_a_late_signal_take_no_real_time(tmp_path: Path) -> None:
    cases = """
  - name: the signal comes after the delay
    signals: [{name: go, payload: {by: ada}, after_seconds: 90000}]
    expect:
      status: completed
      output: {done: {by: ada}}
  - name: no signal within the time given
    advance_seconds: 172800
    expect:
      status: waiting
      nodes: {rest: {status: succeeded}, ask: {status: waiting}}
"""
    write_case(tmp_path, WAIT_A_DAY, cases)

    began = time.monotonic()
    result = treadle_test(str(tmp_path / "workflow.test.yaml"))

    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 10


def test_an_invalid_workflow_fails_every_case_with_the_problem_path(tmp_path: Path) -> None:
    broken = {
        "nodes": [{"id": "a", "kind": "transform", "config": {"output": 1}}],
        "edges": [{"from": "a", "to": "nowhere"}],
    }
    write_case(tmp_path, broken, "  - name: anything\n    expect: {status: completed}\n")

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "the workflow is not valid: edges[0].to:" in result.output


def test_a_test_file_that_breaks_the_format_says_where(tmp_path: Path) -> None:
    write_case(tmp_path, CALL_API, "  - name: typo\n    expected: {status: completed}\n")

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "cases[0]: unknown field 'expected'" in result.output


def test_yaml_aliases_in_a_test_file_are_refused(tmp_path: Path) -> None:
    cases = "  - name: a\n    input: &x {id: 1}\n    expect: {output: *x}\n"
    write_case(tmp_path, CALL_API, cases)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "aliases are not accepted" in result.output


def test_no_test_files_exits_5(tmp_path: Path) -> None:
    result = treadle_test(str(tmp_path))

    assert result.exit_code == 5
    assert "no *.test.yaml files found" in result.output


def test_an_ai_prompt_is_answered_from_the_script_without_its_secret(tmp_path: Path) -> None:
    summarise = {
        "nodes": [
            {"id": "summarise", "kind": "ai_prompt", "config": {"model": "m", "prompt": "hi"}}
        ],
        "edges": [],
    }
    cases = """
  - name: a summary
    responses:
      summarise:
        - body: {model: m, choices: [{message: {content: Short.}, finish_reason: stop}]}
    expect:
      status: completed
      nodes: {summarise: {status: succeeded, attempts: 1}}
      output:
        summarise:
          text: Short.
          json: null
          model: m
          finish_reason: stop
          usage: {prompt_tokens: null, completion_tokens: null, total_tokens: null}
"""
    write_case(tmp_path, summarise, cases)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 0, result.output
