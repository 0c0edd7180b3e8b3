"""The `run_workflow` fixture workflow authors get from Treadle's pytest plugin: a run in
memory on a fake clock, HTTP answered from a script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from application.workflow_tests import TestFileError
from entrypoints.workflow_testing import WorkflowRun

CHARGE: dict[str, Any] = {
    "nodes": [
        {
            "id": "charge",
            "kind": "http_request",
            "config": {"url": "https://payments.example.com/charges", "method": "POST"},
            "retry": {"max_attempts": 3, "initial_interval": 60},
        },
        {"id": "later", "kind": "delay", "config": {"seconds": 86_400}},
        {"id": "done", "kind": "transform", "config": {"output": "{{ nodes.charge.output.body }}"}},
    ],
    "edges": [{"from": "charge", "to": "later"}, {"from": "later", "to": "done"}],
}

Runner = Callable[..., WorkflowRun]


def test_retries_and_a_day_long_delay_take_no_real_time(run_workflow: Runner) -> None:
    answers = [{"status": 503}, {"status": 200, "body": {"paid": True}}]

    ran = run_workflow(CHARGE, {"amount": 5}, responses={"charge": answers})

    assert ran.status == "completed"
    assert ran.output == {"done": {"paid": True}}
    assert ran.nodes["charge"]["attempts"] == 2
    assert ran.seconds >= 86_400 + 60


def test_a_call_with_no_answer_is_named(run_workflow: Runner) -> None:
    ran = run_workflow(CHARGE, {"amount": 5})

    assert ran.status == "failed"
    assert ran.unanswered and "https://payments.example.com/charges" in ran.unanswered[0]


def test_a_definition_the_api_would_refuse_raises_with_its_path(run_workflow: Runner) -> None:
    with pytest.raises(TestFileError, match="nodes"):
        run_workflow({"nodes": [{"id": "x", "kind": "nope"}]})
