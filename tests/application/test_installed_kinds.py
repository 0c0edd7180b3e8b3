"""Kinds from installed packages run like network nodes: the attempt is recorded first, the
workflow's retry policy decides on what their function raises, their output must be JSON,
their config is parsed into their model after rendering, and their context carries the
ids, the idempotency key and secrets, with a logger that blanks secret values out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from dependency_injector import providers
from pydantic import BaseModel

from adapters.nodes.plugins import PluginCatalog
from application.node_kinds import register_kinds
from application.nodes.builtin import builtin_executors
from domain.errors import InvalidDefinition
from tests.application.conftest import (
    SCRIPTED_KIND,
    Harness,
    build_harness,
    document,
    node,
)
from treadle_nodes import NodeContext, NodeFailure, PluginKind, node_kind

SECRET = "s3cr3t-token-value"
seen: list[NodeContext] = []


class Count(BaseModel):
    fail_times: int = 0
    retry_after: float | None = None
    label: str = "x"


@node_kind("test.flaky", title="Flaky", config=Count)
async def flaky(config: Count, context: NodeContext) -> dict[str, Any]:
    """Fails its first `fail_times` attempts as retryable."""
    seen.append(context)
    if context.attempt <= config.fail_times:
        raise NodeFailure("busy", kind="busy", retry_after=config.retry_after)
    return {"attempt": context.attempt, "label": config.label}


class Token(BaseModel):
    token: str


@node_kind("test.refuses", title="Refuses", config=Token)
async def refuses(config: Token, context: NodeContext) -> None:
    raise NodeFailure(f"refused {config.token}", kind="refused", retryable=False)


@node_kind("test.crashes", title="Crashes", config=Token)
async def crashes(config: Token, context: NodeContext) -> None:
    context.log.warning("about to use %s", config.token)
    raise RuntimeError(f"bad token {config.token}")


@node_kind("test.not_json", title="Not JSON", config=Count)
async def not_json(config: Count, context: NodeContext) -> object:
    return {"when": object()}


class Sleep(BaseModel):
    seconds: float


@node_kind("test.sleeps", title="Sleeps", config=Sleep)
async def sleeps(config: Sleep, context: NodeContext) -> None:
    await asyncio.sleep(config.seconds)


KINDS: list[PluginKind[Any]] = [flaky, refuses, crashes, not_json, sleeps]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    built = build_harness()
    catalog = PluginCatalog.of(KINDS, "test-kinds 1.0")
    executors = builtin_executors().with_executors(
        {SCRIPTED_KIND: built.executor, **catalog.executors()}
    )
    built.engine.executors.override(providers.Object(executors))
    built.engine.installed_kinds.override(providers.Object(catalog))
    await register_kinds(built.adapters.uow_factory(), catalog.descriptions(), built.clock.now())
    seen.clear()
    yield built


def one(kind: str, config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return document([node("step", kind, config=config, **fields)])


RETRY = {"max_attempts": 3, "initial_interval": 1, "backoff_coefficient": 2}


async def test_a_retryable_failure_is_tried_again_by_the_policy(harness: Harness) -> None:
    execution_id = await harness.run(one("test.flaky", {"fail_times": 2}, retry=RETRY))
    await harness.settle()

    run = harness.node(execution_id, "step")
    assert harness.status(execution_id) == "completed"
    assert (run.attempt, run.output) == (3, {"attempt": 3, "label": "x"})
    assert harness.types(execution_id, "step").count("node_retry_scheduled") == 2
    assert [context.attempt for context in seen] == [1, 2, 3]


async def test_a_failure_asks_for_its_wait_and_the_policy_caps_it(harness: Harness) -> None:
    config = {"fail_times": 1, "retry_after": 30}
    retry = {**RETRY, "max_interval": 10}
    execution_id = await harness.run(one("test.flaky", config, retry=retry))

    waiting = harness.execution(execution_id)
    started = harness.first(execution_id, "node_retry_scheduled", "step").created_at
    assert waiting.wake_at is not None and waiting.wake_at - started == timedelta(seconds=10)


async def test_the_context_carries_ids_the_idempotency_key_and_the_attempt(
    harness: Harness,
) -> None:
    execution_id = await harness.run(one("test.flaky", {"fail_times": 1}, retry=RETRY))
    await harness.settle()

    first, second = seen
    assert (first.execution_id, first.node_id, first.workspace_id) == (
        execution_id,
        "step",
        harness.execution(execution_id).workspace_id,
    )
    assert first.idempotency_key == second.idempotency_key != ""
    assert (first.attempt, second.attempt) == (1, 2)


async def test_a_failure_that_is_not_retryable_fails_the_node_at_once(harness: Harness) -> None:
    execution_id = await harness.run(one("test.refuses", {"token": "t"}, retry=RETRY))

    run = harness.node(execution_id, "step")
    assert harness.status(execution_id) == "failed"
    assert run.attempt == 1
    assert run.error is not None and (run.error["kind"], run.error["retryable"]) == (
        "refused",
        False,
    )


async def test_the_policy_can_name_a_kinds_error_as_not_retryable(harness: Harness) -> None:
    retry = {**RETRY, "non_retryable": ["busy"]}
    execution_id = await harness.run(one("test.flaky", {"fail_times": 2}, retry=retry))

    assert harness.status(execution_id) == "failed"
    assert harness.node(execution_id, "step").attempt == 1


async def test_an_exception_is_a_plugin_error_without_the_secret_it_names(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.put_secret("token", SECRET)
    config = {"token": "{{ secrets.token }}"}
    with caplog.at_level(logging.WARNING, logger="treadle.nodes"):
        execution_id = await harness.run(one("test.crashes", config, retry={"max_attempts": 1}))

    run = harness.node(execution_id, "step")
    assert run.error is not None and run.error["kind"] == "plugin_error"
    assert "RuntimeError: bad token" in str(run.error["message"])
    assert SECRET not in str(run.error) and SECRET not in str(run.input)
    logged = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("about to use") for message in logged)
    assert not any(SECRET in message for message in logged)


async def test_an_output_that_is_not_json_fails_the_node_for_good(harness: Harness) -> None:
    execution_id = await harness.run(one("test.not_json", {}, retry=RETRY))

    run = harness.node(execution_id, "step")
    assert run.error is not None and run.error["kind"] == "invalid_output"
    assert run.attempt == 1


async def test_a_config_that_renders_invalid_fails_the_node_for_good(harness: Harness) -> None:
    config = {"fail_times": "{{ input.times }}"}
    execution_id = await harness.start(
        await harness.create(one("test.flaky", config, retry=RETRY)), {"times": "many"}
    )
    await harness.drain()

    run = harness.node(execution_id, "step")
    assert run.error is not None and run.error["kind"] == "invalid_config"
    assert "fail_times" in str(run.error["message"])
    assert run.attempt == 1


async def test_a_timeout_applies_to_a_kinds_attempt(harness: Harness) -> None:
    doc = one("test.sleeps", {"seconds": 30}, timeout=0.05, retry={"max_attempts": 1})
    execution_id = await harness.run(doc)

    run = harness.node(execution_id, "step")
    assert run.error is not None and run.error["kind"] == "timeout"


async def test_saving_checks_a_kinds_config_against_its_model(harness: Harness) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        await harness.create(one("test.flaky", {"fail_times": "two", "colour": 1}))

    found = {(problem.code, problem.path) for problem in refused.value.problems}
    assert ("invalid_config", "nodes[0].config.fail_times") in found


async def test_a_template_stands_for_whatever_it_will_render(harness: Harness) -> None:
    workflow_id = await harness.create(one("test.flaky", {"fail_times": "{{ input.n }}"}))

    assert workflow_id


async def test_saving_refuses_a_kind_no_worker_has(harness: Harness) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        await harness.create(one("test.teleports", {}))

    [problem] = refused.value.problems
    assert (problem.code, problem.path) == ("unknown_node_kind", "nodes[0].kind")
    assert "No worker has the node kind 'test.teleports'" in problem.message
    assert "test.flaky" in problem.message


async def test_a_kind_the_saving_process_lacks_is_saved_with_a_warning(harness: Harness) -> None:
    harness.engine.installed_kinds.override(providers.Object(PluginCatalog()))
    check = await harness.engine.create_workflow().validate(
        "ws1", one("test.flaky", {"fail_times": "two"}), "unchecked"
    )

    assert check.valid
    assert [(w.code, w.path) for w in check.warnings] == [("config_not_checked", "nodes[0].config")]
    assert "test-kinds 1.0" in check.warnings[0].message
