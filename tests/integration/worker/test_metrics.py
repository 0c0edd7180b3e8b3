"""The worker's Prometheus endpoint counts claims and times nodes by kind and outcome."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.worker.harness import Harness, free_port
from tests.integration.worker.servers import WorkerTestServer

pytestmark = [pytest.mark.e2e]

FETCH_AND_SHAPE: dict[str, Any] = {
    "nodes": [
        {"id": "fetch", "kind": "http_request", "config": {"url": "{{ input.base }}/json"}},
        {"id": "shape", "kind": "transform", "config": {"output": "{{ nodes.fetch.output.body }}"}},
    ],
    "edges": [{"from": "fetch", "to": "shape"}],
}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_show_claims_and_node_durations_after_a_run(
    harness: Harness, server: WorkerTestServer
) -> None:
    port = free_port()
    await harness.start_workers(TREADLE_WORKER_METRICS_PORT=str(port))
    execution_id = await harness.run(FETCH_AND_SHAPE, {"base": server.url})
    assert (await harness.status_becomes(execution_id))["status"] == "completed"

    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)

    assert response.status_code == 200
    found = samples(response.text)
    assert found[("treadle_executions_claimed_total", frozenset())] >= 1
    http_ok = frozenset({("kind", "http_request"), ("outcome", "succeeded")})
    assert found[("treadle_node_duration_seconds_count", http_ok)] == 1
    assert found[("treadle_node_duration_seconds_sum", http_ok)] > 0
    completed = frozenset({("status", "completed")})
    assert found[("treadle_executions_finished_total", completed)] == 1
