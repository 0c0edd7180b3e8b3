"""Workflow tests reaching past one workflow: the children a `sub_workflow` or `for_each`
node starts, secrets given to a case, and expectations on errors."""

from __future__ import annotations

import asyncio
import json
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

LOOKUP: dict[str, Any] = {
    "name": "lookup",
    "nodes": [
        {
            "id": "fetch",
            "kind": "http_request",
            "config": {"url": "https://api.example.com/items/{{ input.item }}"},
            "retry": {"max_attempts": 2, "initial_interval": 10},
        },
        {
            "id": "row",
            "kind": "transform",
            "config": {
                "output": {"item": "{{ input.item }}", "found": "{{ nodes.fetch.output.body }}"}
            },
        },
    ],
    "edges": [{"from": "fetch", "to": "row"}],
}

ONE_AND_EACH: dict[str, Any] = {
    "name": "parent",
    "nodes": [
        {"id": "fetch", "kind": "transform", "config": {"output": "the parent's own fetch"}},
        {
            "id": "one",
            "kind": "sub_workflow",
            "config": {"workflow": "lookup", "input": {"item": "{{ input.first }}"}},
        },
        {
            "id": "each",
            "kind": "for_each",
            "config": {
                "items": "input.items",
                "workflow": "lookup",
                "input": {"item": "{{ item }}"},
            },
        },
    ],
    "edges": [{"from": "fetch", "to": "one"}, {"from": "one", "to": "each"}],
}

CALL_WITH_TOKEN: dict[str, Any] = {
    "nodes": [
        {
            "id": "call",
            "kind": "http_request",
            "config": {
                "method": "POST",
                "url": "https://api.example.com/send?key={{ secrets.api_key }}",
                "headers": {"Authorization": "Bearer {{ secrets.api_key }}"},
                "json": {"to": "{{ input.to }}"},
            },
            "retry": {"max_attempts": 1},
        }
    ],
    "edges": [],
}

SECRET = "sk-live-0123456789"

CHARGE: dict[str, Any] = {
    "nodes": [
        {
            "id": "charge",
            "kind": "http_request",
            "config": {"method": "POST", "url": "https://payments.example.com/charges"},
            "retry": {"max_attempts": 2, "initial_interval": 5},
        },
        {"id": "done", "kind": "transform", "config": {"output": "{{ nodes.charge.output.body }}"}},
    ],
    "edges": [{"from": "charge", "to": "done"}],
}


def treadle_test(*args: str) -> Result:
    return CliRunner().invoke(app, ["test", *args], catch_exceptions=False)


def definition(workflow: dict[str, Any]) -> dict[str, Any]:
    """A workflow file's definition document: without its name."""
    return {key: value for key, value in workflow.items() if key != "name"}


def write_files(tmp_path: Path, test_file: str, **workflows: dict[str, Any]) -> Path:
    for file_name, workflow in workflows.items():
        (tmp_path / f"{file_name}.json").write_text(json.dumps(workflow))
    path = tmp_path / "parent.test.yaml"
    path.write_text(test_file)
    return path


def run_inline(workflow: dict[str, Any], test_file: str) -> list[CaseResult]:
    """The cases of `test_file` against `workflow`, on the engine that can hold secrets."""
    parsed = parse_test_file(yaml.safe_load(test_file))
    return asyncio.run(run_test_file(parsed, "workflow", workflow, workflow_test_engine))


# ---- Children ---------------------------------------------------------------------------


def test_a_sub_workflow_and_a_for_each_run_their_child_scripted_by_its_name(
    tmp_path: Path,
) -> None:
    test_file = """
workflow: parent.json
workflows: [lookup.json]
cases:
  - name: every child execution gets the child's script, attempt by attempt
    input: {first: 7, items: [1, 2]}
    responses:
      lookup.fetch: [{status: 503}, {body: {ok: true}}]
    expect:
      status: completed
      nodes:
        fetch: {status: succeeded, output: "the parent's own fetch"}
        one: {status: succeeded, output: {row: {item: 7, found: {ok: true}}}}
        each:
          status: succeeded
          output: [{row: {item: 1, found: {ok: true}}}, {row: {item: 2, found: {ok: true}}}]
"""
    write_files(tmp_path, test_file, parent=ONE_AND_EACH, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output


def test_a_childs_output_in_a_failed_expectation_is_diffed(tmp_path: Path) -> None:
    test_file = """
workflow: parent.json
workflows: [lookup.json]
cases:
  - name: the wrong row
    input: {first: 7, items: []}
    responses:
      lookup.fetch: [{body: {ok: true}}]
    expect:
      nodes:
        one: {output: {row: {item: 8, found: {ok: true}}}}
"""
    write_files(tmp_path, test_file, parent=ONE_AND_EACH, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert '-          "item": 8' in result.output
    assert '+          "item": 7' in result.output


def test_a_childs_node_is_not_answered_by_the_parents_node_of_the_same_id(
    tmp_path: Path,
) -> None:
    test_file = """
workflow: parent.json
workflows: [lookup.json]
cases:
  - name: the answers are for the parent's fetch, which makes no call
    input: {first: 7, items: []}
    responses:
      fetch: [{body: {ok: true}}]
    expect: {status: completed}
"""
    write_files(tmp_path, test_file, parent=ONE_AND_EACH, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert (
        "no response scripted for lookup.fetch (attempt 1): GET https://api.example.com/items/7"
        in result.output
    )


def test_a_child_not_listed_under_workflows_is_named_with_what_to_do(tmp_path: Path) -> None:
    test_file = """
workflow: parent.json
cases:
  - name: lookup is missing
    input: {first: 7, items: []}
    expect: {status: completed}
"""
    write_files(tmp_path, test_file, parent=ONE_AND_EACH, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "workflow 'parent' is refused:" in result.output
    assert "nodes[1].config.workflow:" in result.output
    assert "(unknown_workflow)" in result.output
    assert "a workflow it names is loaded when the test file lists it under `workflows:`" in (
        result.output
    )


def test_children_are_created_before_the_workflows_naming_them(tmp_path: Path) -> None:
    middle = {
        "name": "middle",
        "nodes": [
            {
                "id": "deeper",
                "kind": "sub_workflow",
                "config": {"workflow": "lookup", "input": {"item": "{{ input.item }}"}},
            }
        ],
        "edges": [],
    }
    top = {
        "name": "top",
        "nodes": [
            {
                "id": "down",
                "kind": "sub_workflow",
                "config": {"workflow": "middle", "input": {"item": 3}},
            }
        ],
        "edges": [],
    }
    test_file = """
workflow: top.json
workflows: [middle.json, lookup.json]   # middle names lookup: listed first all the same
cases:
  - name: two levels down
    responses:
      lookup.fetch: [{body: found}]
    expect:
      status: completed
      output: {down: {deeper: {row: {item: 3, found: found}}}}
"""
    write_files(tmp_path, test_file, top=top, middle=middle, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 0, result.output


def test_a_workflows_entry_that_is_not_a_list_of_paths_is_refused(tmp_path: Path) -> None:
    test_file = "workflow: parent.json\nworkflows: lookup.json\ncases:\n  - {name: a, expect: {}}\n"
    write_files(tmp_path, test_file, parent=ONE_AND_EACH, lookup=LOOKUP)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 1
    assert "workflows: a list of workflow files (relative paths)" in result.output


def test_run_workflow_takes_the_children_by_name() -> None:
    ran = run_workflow(
        definition(ONE_AND_EACH),
        {"first": 1, "items": [2]},
        workflows={"lookup": definition(LOOKUP)},
        responses={"lookup.fetch": [{"body": "yes"}]},
    )

    assert ran.status == "completed", ran.error
    assert ran.nodes["each"]["output"] == [{"row": {"item": 2, "found": "yes"}}]


# ---- Secrets ----------------------------------------------------------------------------


def test_a_secret_reaches_the_request_and_never_shows_in_clear() -> None:
    echoed = {"status": 200, "body": {"seen": f"got {SECRET}."}}

    ran = run_workflow(
        CALL_WITH_TOKEN, {"to": "ada"}, secrets={"api_key": SECRET}, responses={"call": [echoed]}
    )

    assert ran.status == "completed", ran.error
    # The node saw the value (the answer echoed it back), and the engine scrubbed it.
    assert ran.nodes["call"]["output"]["body"] == {"seen": "got [redacted]."}
    assert SECRET not in json.dumps(ran.output)


def test_an_unanswered_request_built_from_a_secret_is_shown_redacted() -> None:
    ran = run_workflow(CALL_WITH_TOKEN, {"to": "ada"}, secrets={"api_key": SECRET})

    assert ran.status == "failed"
    assert ran.unanswered == ['call (attempt 1): POST [redacted] with body {"to":"ada"}']
    assert SECRET not in json.dumps([ran.error, ran.nodes])


def test_a_failed_expectation_never_prints_a_secret() -> None:
    test_file = f"""
workflow: (inline)
cases:
  - name: the echo is compared with the secret in clear
    input: {{to: ada}}
    secrets: {{api_key: {SECRET}}}
    responses:
      call: [{{body: "got {SECRET}."}}]
    expect:
      output: {{call: {{status: 200, body: "got {SECRET}!"}}}}
  - name: no answer for the call
    input: {{to: ada}}
    secrets: {{api_key: {SECRET}}}
    expect: {{status: completed}}
"""
    diffed, unanswered = run_inline(CALL_WITH_TOKEN, test_file)

    assert not diffed.passed and not unanswered.passed
    text = "\n".join(diffed.failures + unanswered.failures)
    assert SECRET not in text
    assert '-      "body": "got [redacted]!"' in text
    assert '+      "body": "got [redacted].",' in text
    assert "no response scripted for call (attempt 1): POST [redacted]" in text


def test_an_ai_prompts_key_secret_given_by_the_case_is_scrubbed_from_its_output() -> None:
    summarise = {
        "nodes": [
            {
                "id": "summarise",
                "kind": "ai_prompt",
                "config": {"model": "m", "prompt": "hi", "api_key_secret": "PROVIDER_KEY"},
            }
        ],
        "edges": [],
    }
    answer = {"body": {"model": "m", "choices": [{"message": {"content": f"key {SECRET}"}}]}}

    ran = run_workflow(
        summarise, secrets={"PROVIDER_KEY": SECRET}, responses={"summarise": [answer]}
    )

    assert ran.status == "completed", ran.error
    assert ran.nodes["summarise"]["output"]["text"] == "key [redacted]"


def test_treadle_test_gives_a_case_its_secrets_and_never_prints_them(tmp_path: Path) -> None:
    test_file = f"""
workflow: call.json
cases:
  - name: with a secret
    input: {{to: ada}}
    secrets: {{api_key: {SECRET}}}
    responses: {{call: [{{status: 200}}]}}
    expect: {{status: completed}}
"""
    write_files(tmp_path, test_file, call=CALL_WITH_TOKEN)

    result = treadle_test(str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "with a secret" in result.output
    assert SECRET not in result.output


def test_secret_values_must_be_strings() -> None:
    test_file = "workflow: w\ncases:\n  - {name: a, secrets: {key: 5}, expect: {}}\n"

    with pytest.raises(TestFileError, match=r"cases\[0\]\.secrets: secret values are strings"):
        parse_test_file(yaml.safe_load(test_file))


# ---- Errors -----------------------------------------------------------------------------

ERROR_CASES = """
workflow: (inline)
cases:
  - name: the charge fails for good with a 503
    responses:
      charge: [{status: 503}, {status: 503}]
    expect:
      status: failed
      error: {message_contains: charge}
      nodes:
        charge:
          status: failed
          attempts: 2
          error: {kind: http_status, message_contains: "503", retryable: true}
        done: {status: skipped}
  - name: a 400 is final, matched by a regular expression
    responses:
      charge: [{status: 400}]
    expect:
      nodes:
        charge:
          error: {kind: http_status, message_matches: "answered 4\\\\d\\\\d", retryable: false}
  - name: no error on success
    responses:
      charge: [{status: 200, body: paid}]
    expect:
      error: null
      nodes: {charge: {error: null}}
"""


def test_errors_are_matched_on_kind_message_and_retryable() -> None:
    results = run_inline(CHARGE, ERROR_CASES)

    assert [result.failures for result in results] == [[], [], []]


def test_an_error_that_does_not_match_shows_the_whole_message_in_the_diff() -> None:
    test_file = """
workflow: (inline)
cases:
  - name: expects a 504 that is not retried
    responses:
      charge: [{status: 503}, {status: 503}]
    expect:
      nodes:
        charge: {error: {kind: http_status, message_contains: "504", retryable: false}}
"""
    [result] = run_inline(CHARGE, test_file)

    diff = result.failures[0]
    assert '-        "message_contains": "504",' in diff
    assert '+        "message": "POST https://payments.example.com/charges answered 503' in diff
    assert '-        "retryable": false' in diff
    assert '+        "retryable": true' in diff
    changed = [line for line in diff.splitlines() if line.startswith(("-  ", "+  "))]
    assert '"kind": "http_status"' in diff
    assert not [line for line in changed if '"kind"' in line]  # the kind matched


def test_an_error_expected_where_there_is_none_shows_null() -> None:
    test_file = """
workflow: (inline)
cases:
  - name: expects a failure
    responses:
      charge: [{status: 200, body: paid}]
    expect:
      error: {kind: node_failed}
"""
    [result] = run_inline(CHARGE, test_file)

    assert result.failures and '-  "error": {' in result.failures[0]
    assert '+  "error": null' in result.failures[0]


def test_an_error_expectation_with_a_bad_field_or_pattern_is_refused(tmp_path: Path) -> None:
    for error, message in [
        ("{code: http_status}", "cases[0].expect.error: unknown field 'code'"),
        ("{message_matches: '('}", "cases[0].expect.error.message_matches: not a regular"),
        ("{retryable: maybe}", "cases[0].expect.error.retryable: true or false"),
        ("{}", "cases[0].expect.error: name what to check"),
    ]:
        test_file = f"workflow: call.json\ncases:\n  - name: a\n    expect: {{error: {error}}}\n"
        write_files(tmp_path, test_file, call=CHARGE)

        result = treadle_test(str(tmp_path))

        assert result.exit_code == 1
        assert message in result.output, (error, result.output)
