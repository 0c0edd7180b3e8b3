"""`settings.fail_fast`: only a failure for good ends the execution early (the contract
tests run the cancelling on both adapters)."""

from __future__ import annotations

import pytest

from application.ports.executors import Failed
from domain.errors import InvalidDefinition
from domain.policies import NodeError
from domain.validation import definition_to_document, parse_definition
from tests.application.conftest import Harness, document, edge, node, scripted

LONG_TIMER = node("pause", "delay", config={"seconds": 86400})


def test_the_setting_is_read_and_written_back() -> None:
    doc = document([node("a")], fail_fast=True)
    definition = parse_definition(doc)
    assert definition.settings.fail_fast is True
    assert definition_to_document(definition)["settings"]["fail_fast"] is True
    assert parse_definition(definition_to_document(definition)) == definition
    assert parse_definition(document([node("a")])).settings.fail_fast is False
    with pytest.raises(InvalidDefinition) as raised:
        parse_definition(document([node("a")], fail_fast="yes"))
    assert [p.path for p in raised.value.problems] == ["settings.fail_fast"]


async def test_a_failure_with_retries_left_does_not_end_the_execution(harness: Harness) -> None:
    harness.executor.on("flaky", 1, Failed(NodeError("http_503", "busy", retryable=True)))
    doc = document([scripted("flaky"), LONG_TIMER], fail_fast=True)
    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "waiting"
    assert harness.node(execution_id, "flaky").status.value == "retrying"
    harness.clock.advance(2)
    await harness.drain()
    assert harness.node(execution_id, "flaky").status.value == "succeeded"
    assert harness.status(execution_id) == "waiting"  # the timer still runs


async def test_a_failure_routed_along_an_error_edge_does_not_end_it(harness: Harness) -> None:
    rejected = Failed(NodeError("http_400", "rejected", retryable=False))
    harness.executor.on("call", 1, rejected)
    doc = document(
        [scripted("call", on_error="continue"), node("handle"), LONG_TIMER],
        [edge("call", "handle", "error")],
        fail_fast=True,
    )
    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "waiting"
    assert harness.node(execution_id, "handle").status.value == "succeeded"


async def test_an_inline_failure_fails_fast_with_the_nodes_error(harness: Harness) -> None:
    bad = node("bad", "transform", config={"output": "{{ input.n // 0 }}"})
    doc = document([bad, node("next"), LONG_TIMER], [edge("bad", "next")], fail_fast=True)
    execution_id = await harness.run(doc, {"n": 1})

    assert harness.status(execution_id) == "failed"
    error = harness.execution(execution_id).error
    assert error is not None
    assert error["node_id"] == "bad"
    assert error == {**(harness.node(execution_id, "bad").error or {}), "node_id": "bad"}
    assert harness.node_statuses(execution_id) == {
        "bad": "failed",
        "next": "cancelled",
        "pause": "cancelled",
    }
    assert harness.types(execution_id)[-1] == "execution_failed"
