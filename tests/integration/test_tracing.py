"""OpenTelemetry tracing: an execution's trace (its execution span, a span per node
attempt and per committed step), the caller's trace continued from `traceparent` through
to a service an `http_request` node calls, nothing sensitive recorded, and nothing at all
when tracing is off.

The runtime is in memory with an SDK tracer provider passed in; the http node calls a real
HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.clock import SystemClock
from adapters.memory.store import InMemoryStore
from adapters.tracing.config import tracing_requested
from application.tracing import EXECUTION_SPAN, NODE_ATTEMPT_SPAN, STEP_SPAN
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.execution import Execution
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.runtime import Runtime
from tests.api.conftest import api_settings, issue_tokens
from tests.support.fake_servers import FakeChatServer, ProgrammableServer

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"
SECRET_VALUE = "s3cr3t-header-value-never-traced"
INPUT_VALUE = "private-input-never-traced"

CHILD: dict[str, Any] = {
    "nodes": [{"id": "echo", "kind": "transform", "config": {"output": "{{ input.n }}"}}]
}
# Fails its item whose `n` is 0 until a workflow named "helper" exists.
FLAKY_ITEM: dict[str, Any] = {
    "nodes": [
        {
            "id": "check",
            "kind": "condition",
            "config": {"cases": [{"when": "zero", "if": "input.n == 0"}], "default": "other"},
        },
        {"id": "help", "kind": "sub_workflow", "config": {"workflow": "{{ 'helper' }}"}},
        {"id": "echo", "kind": "transform", "config": {"output": "{{ input.n }}"}},
    ],
    "edges": [
        {"from": "check", "to": "help", "when": "zero"},
        {"from": "check", "to": "echo", "when": "other"},
    ],
}


def fan_out(child: str) -> dict[str, Any]:
    """A `for_each` of `child` over two items, both `input.v`."""
    items = {
        "id": "list",
        "kind": "transform",
        "config": {"output": "{{ [input.v, input.v] }}"},
    }
    each = {
        "id": "each",
        "kind": "for_each",
        "config": {"items": "nodes.list.output", "workflow": child, "input": {"n": "{{ item }}"}},
    }
    return {"nodes": [items, each], "edges": [{"from": "list", "to": "each"}]}


# A sub-workflow started by the opening step, then a `for_each` over two items.
PARENT: dict[str, Any] = {
    "nodes": [
        {"id": "sub", "kind": "sub_workflow", "config": {"workflow": "child", "input": {"n": 0}}},
        *fan_out("child")["nodes"],
    ],
    "edges": [{"from": "sub", "to": "list"}, *fan_out("child")["edges"]],
}

ONE_AT_A_TIME: dict[str, Any] = {
    "nodes": [{"id": "only", "kind": "noop"}],
    "settings": {"concurrency": {"limit": 1}},
}

THREE_STEPS: dict[str, Any] = {
    "nodes": [
        {"id": "shape", "kind": "transform", "config": {"output": {"v": "{{ input.v }}"}}},
        {"id": "check", "kind": "noop"},
        {"id": "finish", "kind": "transform", "config": {"output": "done"}},
    ],
    "edges": [{"from": "shape", "to": "check"}, {"from": "check", "to": "finish"}],
}


def calls_echo(url: str) -> dict[str, Any]:
    """One http_request node that sends a secret in a header and the input in its body."""
    return {
        "nodes": [
            {
                "id": "call",
                "kind": "http_request",
                "config": {
                    "method": "POST",
                    "url": f"{url}/echo",
                    "headers": {"X-Api-Key": "{{ secrets.API_KEY }}"},
                    "json": {"v": "{{ input.v }}"},
                },
            }
        ],
        "edges": [],
    }


@dataclass
class Traced:
    client: AsyncTestClient[Litestar]
    runtime: Runtime
    tokens: dict[str, str]
    exporter: InMemorySpanExporter

    def auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['a_admin']}", **(extra or {})}

    async def create(self, definition: dict[str, Any], name: str = "wf") -> str:
        response = await self.client.post(
            "/api/v1/workflows", json={"name": name, "definition": definition}, headers=self.auth()
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def run(self, workflow_id: str, input: Any, headers: dict[str, str] | None = None) -> str:
        response = await self.client.post(
            f"/api/v1/workflows/{workflow_id}/run",
            json={"input": input},
            headers=self.auth(headers),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["execution_id"])

    async def drain(self) -> None:
        engine = self.runtime.engine
        loop = WorkerLoop(
            WorkerSettings(worker_id="traced-worker"),
            self.runtime.queue,
            engine.runner(),
            self.runtime.clock,
            engine.fire_schedules(),
        )
        await loop.run_until_idle()

    async def status(self, execution_id: str) -> str:
        response = await self.client.get(f"/api/v1/executions/{execution_id}", headers=self.auth())
        return str(response.json()["status"])

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if name is None or s.name == name]

    def execution_spans(self, execution_id: str) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans(EXECUTION_SPAN)
            if (s.attributes or {}).get("treadle.execution.id") == execution_id
        ]

    def children_spans(self, parent_id: str) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans(EXECUTION_SPAN)
            if (s.attributes or {}).get("treadle.execution.parent_id") == parent_id
        ]

    async def stored(self, execution_id: str) -> Execution:
        async with self.runtime.uow_factory() as uow:
            found = await uow.executions.get(execution_id)
        assert found is not None
        return found

    async def secret(self, name: str, value: str) -> None:
        response = await self.client.post(
            "/api/v1/secrets", json={"name": name, "value": value}, headers=self.auth()
        )
        assert response.status_code == 201, response.text


@pytest.fixture
def server() -> Iterator[ProgrammableServer]:
    with ProgrammableServer() as running:
        yield running


async def open_api(provider: TracerProvider | None) -> tuple[Runtime, Litestar, dict[str, str]]:
    settings = api_settings(http_allowed_hosts="127.0.0.1")
    clock = SystemClock()
    storage = memory_storage(InMemoryStore(clock=clock))
    runtime = await bootstrap(settings, clock=clock, storage=storage, tracer_provider=provider)
    tokens = await issue_tokens(runtime.services)
    return runtime, create_app(runtime, settings), tokens


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime, app, tokens = await open_api(provider)
    async with AsyncTestClient(app=app) as client:
        yield Traced(client, runtime, tokens, exporter)
    await runtime.close()
    provider.shutdown()


def attributes_of(spans: Sequence[ReadableSpan]) -> list[dict[str, Any]]:
    return [dict(span.attributes or {}) for span in spans]


async def test_a_three_node_run_is_one_trace_of_an_execution_span_and_its_attempts(
    traced: Traced,
) -> None:
    workflow_id = await traced.create(THREE_STEPS)
    execution_id = await traced.run(workflow_id, {"v": 1})
    await traced.drain()
    assert await traced.status(execution_id) == "completed"

    [execution] = traced.spans(EXECUTION_SPAN)
    assert execution.attributes is not None
    assert execution.attributes["treadle.execution.id"] == execution_id
    assert execution.attributes["treadle.workflow.id"] == workflow_id
    attempts = traced.spans(NODE_ATTEMPT_SPAN)
    assert sorted(a["treadle.node.id"] for a in attributes_of(attempts)) == [
        "check",
        "finish",
        "shape",
    ]
    assert execution.context is not None
    for attempt in attempts:
        assert attempt.parent is not None
        assert attempt.parent.span_id == execution.context.span_id
        assert attempt.context is not None
        assert attempt.context.trace_id == execution.context.trace_id
    by_node = {a["treadle.node.id"]: a for a in attributes_of(attempts)}
    assert by_node["shape"]["treadle.node.kind"] == "transform"
    assert by_node["check"]["treadle.node.kind"] == "noop"
    assert {a["treadle.node.attempt"] for a in by_node.values()} == {1}
    assert {a["treadle.node.status"] for a in by_node.values()} == {"succeeded"}
    steps = traced.spans(STEP_SPAN)
    assert steps, "every committed step has a span"
    assert all(
        s.context is not None and s.context.trace_id == execution.context.trace_id for s in steps
    )
    assert attributes_of(steps)[-1]["treadle.execution.status"] == "completed"


async def test_a_callers_traceparent_reaches_the_service_an_http_node_calls(
    traced: Traced, server: ProgrammableServer
) -> None:
    await traced.client.post(
        "/api/v1/secrets", json={"name": "API_KEY", "value": SECRET_VALUE}, headers=traced.auth()
    )
    workflow_id = await traced.create(calls_echo(server.url))
    execution_id = await traced.run(
        workflow_id, {"v": INPUT_VALUE}, headers={"traceparent": CALLER_TRACEPARENT}
    )
    await traced.drain()
    assert await traced.status(execution_id) == "completed"

    [request] = server.requests
    sent = request.headers["traceparent"]
    assert sent.split("-")[1] == CALLER_TRACE_ID
    [attempt] = traced.spans(NODE_ATTEMPT_SPAN)
    assert attempt.context is not None
    assert sent.split("-")[2] == format(attempt.context.span_id, "016x")
    assert attempt.attributes is not None
    assert attempt.attributes["treadle.node.status"] == "succeeded"
    [execution] = traced.spans(EXECUTION_SPAN)
    assert execution.context is not None and execution.context.trace_id == int(CALLER_TRACE_ID, 16)
    run_requests = [
        s for s in traced.spans() if s.name == "POST /api/v1/workflows/{workflow_id}/run"
    ]
    assert run_requests, [s.name for s in traced.spans()]


async def test_no_span_records_a_secret_an_input_or_a_webhook_path(
    traced: Traced, server: ProgrammableServer
) -> None:
    await traced.client.post(
        "/api/v1/secrets", json={"name": "API_KEY", "value": SECRET_VALUE}, headers=traced.auth()
    )
    workflow_id = await traced.create(calls_echo(server.url))
    await traced.run(workflow_id, {"v": INPUT_VALUE})
    await traced.drain()
    [request] = server.requests
    assert request.headers["x-api-key"] == SECRET_VALUE  # the secret did travel
    spans = traced.spans()
    assert {s.name for s in spans} >= {EXECUTION_SPAN, NODE_ATTEMPT_SPAN, STEP_SPAN}
    recorded = json.dumps(
        [
            {
                "name": s.name,
                "attributes": dict(s.attributes or {}),
                "events": [[e.name, dict(e.attributes or {})] for e in s.events],
                "status": s.status.description,
            }
            for s in spans
        ]
    )
    assert SECRET_VALUE not in recorded
    assert INPUT_VALUE not in recorded
    assert traced.tokens["a_admin"] not in recorded


async def test_a_retry_starts_a_new_trace_linked_to_the_first(
    traced: Traced, server: ProgrammableServer
) -> None:
    definition = calls_echo(server.url)
    definition["nodes"][0]["config"] = {"url": f"{server.url}/status/400"}
    workflow_id = await traced.create(definition)
    execution_id = await traced.run(workflow_id, None)
    await traced.drain()
    assert await traced.status(execution_id) == "failed"
    [failed_attempt] = traced.spans(NODE_ATTEMPT_SPAN)
    assert failed_attempt.attributes is not None
    assert failed_attempt.attributes["treadle.error.kind"] == "http_status"
    response = await traced.client.post(
        f"/api/v1/executions/{execution_id}/retry", headers=traced.auth()
    )
    assert response.status_code in (200, 201, 202), response.text
    await traced.drain()
    first, second = traced.spans(EXECUTION_SPAN)
    assert first.context is not None and second.context is not None
    assert second.context.trace_id != first.context.trace_id
    assert [link.context.trace_id for link in second.links] == [first.context.trace_id]


async def test_with_tracing_off_nothing_is_traced_and_runs_complete(
    server: ProgrammableServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    # Whatever the process would still trace goes to the global provider: catch it there.
    exporter = InMemorySpanExporter()
    catch_all = TracerProvider()
    catch_all.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(otel_trace, "_TRACER_PROVIDER", catch_all)
    runtime, app, tokens = await open_api(None)
    try:
        assert runtime.tracer_provider is None
        async with AsyncTestClient(app=app) as client:
            off = Traced(client, runtime, tokens, exporter)
            await client.post(
                "/api/v1/secrets",
                json={"name": "API_KEY", "value": SECRET_VALUE},
                headers=off.auth(),
            )
            workflow_id = await off.create(calls_echo(server.url))
            execution_id = await off.run(
                workflow_id, {"v": 1}, headers={"traceparent": CALLER_TRACEPARENT}
            )
            await off.drain()
            assert await off.status(execution_id) == "completed"
            [request] = server.requests
            assert "traceparent" not in request.headers
            async with runtime.uow_factory() as uow:
                execution = await uow.executions.get(execution_id)
            assert execution is not None and execution.trace_context is None
    finally:
        await runtime.close()
    assert exporter.get_finished_spans() == ()


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


async def test_sub_workflows_and_for_each_items_run_in_their_parents_trace(
    traced: Traced,
) -> None:
    await traced.create(CHILD, name="child")
    workflow_id = await traced.create(PARENT, name="parent")
    execution_id = await traced.run(
        workflow_id, {"v": INPUT_VALUE}, headers={"traceparent": CALLER_TRACEPARENT}
    )
    await traced.drain()
    assert await traced.status(execution_id) == "completed"

    [parent] = traced.execution_spans(execution_id)
    children = traced.children_spans(execution_id)
    assert len(children) == 3  # the sub-workflow and two items
    for child in children:
        assert trace_id(child) == trace_id(parent) == int(CALLER_TRACE_ID, 16)
        assert child.parent is not None and child.parent.span_id == span_id(parent)
        assert not child.links
        child_id = (child.attributes or {})["treadle.execution.id"]
        assert isinstance(child_id, str)
        assert len(traced.execution_spans(child_id)) == 1
        stored = await traced.stored(child_id)
        assert stored.trace_context is not None
        assert stored.trace_context["traceparent"].split("-")[2] == format(span_id(child), "016x")
    executions = {span_id(s) for s in [parent, *children]}
    for span in traced.spans(NODE_ATTEMPT_SPAN) + traced.spans(STEP_SPAN):
        assert trace_id(span) == int(CALLER_TRACE_ID, 16)
        assert span.parent is not None and span.parent.span_id in executions
    recorded = json.dumps([dict(s.attributes or {}) for s in traced.spans()])
    assert INPUT_VALUE not in recorded


async def test_a_retried_item_runs_in_its_parents_new_trace_linked_to_its_first(
    traced: Traced,
) -> None:
    await traced.create(FLAKY_ITEM, name="flaky")
    workflow_id = await traced.create(fan_out("flaky"), name="fan")
    execution_id = await traced.run(workflow_id, {"v": 0})
    await traced.drain()
    assert await traced.status(execution_id) == "failed"
    [first_parent] = traced.execution_spans(execution_id)
    first_items = traced.children_spans(execution_id)
    assert {trace_id(s) for s in first_items} == {trace_id(first_parent)}

    await traced.create({"nodes": [{"id": "ok", "kind": "noop"}]}, name="helper")
    response = await traced.client.post(
        f"/api/v1/executions/{execution_id}/retry", headers=traced.auth()
    )
    assert response.status_code in (200, 201, 202), response.text
    await traced.drain()
    assert await traced.status(execution_id) == "completed"

    _, second_parent = traced.execution_spans(execution_id)
    assert trace_id(second_parent) != trace_id(first_parent)
    reopened = [s for s in traced.children_spans(execution_id) if s not in first_items]
    assert reopened, "the failed items ran again"
    for item in reopened:
        assert trace_id(item) == trace_id(second_parent)
        assert item.parent is not None and item.parent.span_id == span_id(second_parent)
        assert (item.attributes or {})["treadle.execution.retried"] is True
        item_id = (item.attributes or {})["treadle.execution.id"]
        [earlier] = [s for s in first_items if s in traced.execution_spans(str(item_id))]
        assert [link.context.span_id for link in item.links] == [span_id(earlier)]


async def test_an_ai_prompt_attempt_sends_its_traceparent_to_the_provider(
    traced: Traced,
) -> None:
    with FakeChatServer(expected_key=SECRET_VALUE) as provider:
        await traced.secret("OPENAI_API_KEY", SECRET_VALUE)
        prompt = {"base_url": provider.base_url, "model": "m", "prompt": "{{ input.v }}"}
        workflow_id = await traced.create(
            {"nodes": [{"id": "ask", "kind": "ai_prompt", "config": prompt}]}
        )
        execution_id = await traced.run(workflow_id, {"v": INPUT_VALUE})
        await traced.drain()
        assert await traced.status(execution_id) == "completed"
        [request] = provider.requests

    [execution] = traced.execution_spans(execution_id)
    [attempt] = traced.spans(NODE_ATTEMPT_SPAN)
    version, sent_trace, sent_span, _ = request.headers["traceparent"].split("-")
    assert version == "00"
    assert int(sent_trace, 16) == trace_id(execution)
    assert int(sent_span, 16) == span_id(attempt)
    assert request.headers["authorization"] == f"Bearer {SECRET_VALUE}"
    recorded = json.dumps([dict(s.attributes or {}) for s in traced.spans()])
    assert SECRET_VALUE not in recorded and INPUT_VALUE not in recorded


async def test_an_execution_queued_at_its_opening_keeps_the_trace_it_opened(
    traced: Traced,
) -> None:
    workflow_id = await traced.create(ONE_AT_A_TIME)
    first = await traced.run(workflow_id, None)
    second = await traced.run(workflow_id, None)
    await traced.drain()
    assert await traced.status(first) == "completed"
    assert await traced.status(second) == "completed"

    for execution_id in (first, second):
        [execution] = traced.execution_spans(execution_id)
        stored = await traced.stored(execution_id)
        assert stored.trace_context is not None
        assert stored.trace_context["traceparent"].split("-")[2] == format(
            span_id(execution), "016x"
        )
        steps = [
            s
            for s in traced.spans(STEP_SPAN)
            if (s.attributes or {}).get("treadle.execution.id") == execution_id
        ]
        assert steps and {trace_id(s) for s in steps} == {trace_id(execution)}


async def test_with_tracing_off_children_keep_no_trace_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    runtime, app, tokens = await open_api(None)
    try:
        async with AsyncTestClient(app=app) as client:
            off = Traced(client, runtime, tokens, InMemorySpanExporter())
            await off.create(CHILD, name="child")
            workflow_id = await off.create(PARENT, name="parent")
            execution_id = await off.run(
                workflow_id, {"v": 1}, headers={"traceparent": CALLER_TRACEPARENT}
            )
            await off.drain()
            assert await off.status(execution_id) == "completed"
            parent = await off.stored(execution_id)
            async with runtime.uow_factory() as uow:
                family = await uow.executions.search(
                    parent.workspace_id, parent_execution_id=execution_id, limit=10
                )
            assert len(family) == 3
            for execution in [parent, *family]:
                assert execution.trace_context is None
    finally:
        await runtime.close()


def test_only_otel_variables_naming_a_destination_turn_tracing_on() -> None:
    assert not tracing_requested({})
    assert not tracing_requested({"OTEL_SERVICE_NAME": "treadle"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
