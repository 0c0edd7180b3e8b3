"""HTTP nodes run by a real worker process: retries with backoff, permanent failures,
timeouts, and parallel branches joined."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.integration.worker.harness import Harness
from tests.integration.worker.servers import WorkerTestServer

pytestmark = [pytest.mark.e2e]


def one_call(retry: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": "call",
        "kind": "http_request",
        "config": {"url": "{{ input.url }}"},
        "retry": retry,
    }
    if timeout is not None:
        node["timeout"] = timeout
    return {"nodes": [node], "edges": []}


async def test_a_flaky_endpoint_is_retried_with_backoff_until_it_answers(
    harness: Harness, server: WorkerTestServer
) -> None:
    retry = {"max_attempts": 3, "initial_interval": 0.5, "backoff_coefficient": 2}
    await harness.start_workers()
    execution_id = await harness.run(one_call(retry), {"url": f"{server.url}/flaky/f?failures=2"})

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    call = harness.node_runs(execution_id)["call"]
    assert (call["status"], call["attempt"]) == ("succeeded", 3)
    assert call["output"]["body"] == {"ok": True, "call": 3}
    assert len(harness.events(execution_id, "node_succeeded")) == 1
    retries = harness.events(execution_id, "node_retry_scheduled")
    assert [event["payload"]["error"]["kind"] for event in retries] == ["http_status"] * 2
    starts = [event["created_at"] for event in harness.events(execution_id, "node_started")]
    assert len(starts) == 3
    assert starts[1] - starts[0] >= timedelta(seconds=0.5)
    assert starts[2] - starts[1] >= timedelta(seconds=1.0)
    keys = [request.headers.get("idempotency-key") for request in server.calls_to("/flaky/f")]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert str(keys[0]).startswith("treadle-")


async def test_a_404_fails_at_once_without_retrying(
    harness: Harness, server: WorkerTestServer
) -> None:
    retry = {"max_attempts": 3, "initial_interval": 0.2}
    await harness.start_workers()
    execution_id = await harness.run(one_call(retry), {"url": f"{server.url}/status/404"})

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "failed"
    assert done["error"]["node_id"] == "call"
    call = harness.node_runs(execution_id)["call"]
    assert (call["status"], call["attempt"]) == ("failed", 1)
    assert call["error"]["kind"] == "http_status"
    assert call["error"]["retryable"] is False
    assert call["error"]["details"]["status"] == 404
    assert harness.events(execution_id, "node_retry_scheduled") == []
    assert len(server.calls_to("/status/404")) == 1


async def test_a_slow_endpoint_times_out_then_succeeds_on_a_faster_answer(
    harness: Harness, server: WorkerTestServer
) -> None:
    retry = {"max_attempts": 3, "initial_interval": 0.2}
    url = f"{server.url}/slow-once/s?seconds=10"
    await harness.start_workers()
    execution_id = await harness.run(one_call(retry, timeout=0.5), {"url": url})

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    call = harness.node_runs(execution_id)["call"]
    assert (call["status"], call["attempt"]) == ("succeeded", 2)
    assert call["output"]["body"] == {"call": 2}
    retries = harness.events(execution_id, "node_retry_scheduled")
    assert [event["payload"]["error"]["kind"] for event in retries] == ["timeout"]
    assert retries[0]["payload"]["error"]["retryable"] is True
    keys = {request.headers.get("idempotency-key") for request in server.calls_to("/slow-once/s")}
    assert len(server.calls_to("/slow-once/s")) == 2 and len(keys) == 1


PARALLEL: dict[str, Any] = {
    "nodes": [
        {"id": "fan_out", "kind": "noop"},
        {
            "id": "left",
            "kind": "http_request",
            "config": {"url": "{{ input.base }}/overlap/p", "query": {"branch": "left"}},
            "timeout": 10,
        },
        {
            "id": "right",
            "kind": "http_request",
            "config": {"url": "{{ input.base }}/overlap/p", "query": {"branch": "right"}},
            "timeout": 10,
        },
        {
            "id": "join",
            "kind": "transform",
            "config": {
                "output": {
                    "left": "{{ nodes.left.output.body.branch }}",
                    "right": "{{ nodes.right.output.body.branch }}",
                }
            },
        },
    ],
    "edges": [
        {"from": "fan_out", "to": "left"},
        {"from": "fan_out", "to": "right"},
        {"from": "left", "to": "join"},
        {"from": "right", "to": "join"},
    ],
}


async def test_parallel_http_branches_are_in_flight_together_and_joined(
    harness: Harness, server: WorkerTestServer
) -> None:
    await harness.start_workers()
    execution_id = await harness.run(PARALLEL, {"base": server.url})

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    assert server.most_in_flight["p"] == 2
    assert harness.node_runs(execution_id)["join"]["output"] == {"left": "left", "right": "right"}
    assert done["output"] == {"join": {"left": "left", "right": "right"}}
