"""The SSRF guard in a real worker: without an allowlist, loopback, private and metadata
addresses are refused before any connection is attempted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.worker.harness import Harness
from tests.integration.worker.servers import WorkerTestServer

pytestmark = [pytest.mark.e2e]

TARGETS = {
    "loopback": ("{{ input.base }}/json", "127.0.0.1"),
    "name_for_loopback": ("http://localhost:{{ input.port }}/json", None),
    "private": ("http://10.0.0.1/", "10.0.0.1"),
    "metadata": ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
}


def calls_to_every_target() -> dict[str, Any]:
    nodes = [
        {
            "id": node_id,
            "kind": "http_request",
            "config": {"url": url},
            "retry": {"max_attempts": 3, "initial_interval": 0.2},
            "timeout": 5,
            "on_error": "continue",
        }
        for node_id, (url, _) in TARGETS.items()
    ]
    return {"nodes": nodes, "edges": []}


async def test_without_the_allowlist_internal_addresses_are_refused_before_connecting(
    harness: Harness, server: WorkerTestServer
) -> None:
    await harness.start_workers(TREADLE_HTTP_ALLOWED_HOSTS=None)
    input = {"base": server.url, "port": server.port}
    execution_id = await harness.run(calls_to_every_target(), input)

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    runs = harness.node_runs(execution_id)
    for node_id, (_, address) in TARGETS.items():
        run = runs[node_id]
        assert (run["status"], run["attempt"]) == ("failed", 1), node_id
        assert run["error"]["kind"] == "address_not_allowed", run["error"]
        assert run["error"]["retryable"] is False
        if address is not None:
            assert run["error"]["details"]["address"] == address
    assert server.requests == []
    assert harness.non_loopback_connections() == []
