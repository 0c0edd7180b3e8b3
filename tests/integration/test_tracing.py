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
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.runtime import Runtime
from tests.api.conftest import api_settings, issue_tokens
from tests.support.fake_servers import ProgrammableServer

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"
SECRET_VALUE = "s3cr3t-header-value-never-traced"
INPUT_VALUE = "private-input-never-traced"

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

    async def create(self, definition: dict[str, Any]) -> str:
        response = await self.client.post(
            "/api/v1/workflows", json={"name": "wf", "definition": definition}, headers=self.auth()
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


def test_only_otel_variables_naming_a_destination_turn_tracing_on() -> None:
    assert not tracing_requested({})
    assert not tracing_requested({"OTEL_SERVICE_NAME": "treadle"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
