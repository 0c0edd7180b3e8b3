"""A secret used in a header reaches the server, and nothing the worker stores or logs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.worker.harness import Harness
from tests.integration.worker.servers import WorkerTestServer

pytestmark = [pytest.mark.e2e]

BEARER = {"Authorization": "Bearer {{ secrets.API_TOKEN }}"}
USES_A_SECRET: dict[str, Any] = {
    "nodes": [
        {
            "id": "echo",
            "kind": "http_request",
            "config": {
                "url": "{{ input.base }}/echo",
                "headers": BEARER,
                "query": {"token": "{{ secrets.API_TOKEN }}"},
            },
        },
        {
            "id": "refused",
            "kind": "http_request",
            "config": {"url": "{{ input.base }}/echo-status/400", "headers": BEARER},
            "retry": {"max_attempts": 1},
            "on_error": "continue",
        },
        {
            "id": "copy",
            "kind": "transform",
            "config": {
                "output": {
                    "token": "{{ secrets.API_TOKEN }}",
                    "echoed": "{{ nodes.echo.output.body.headers.authorization }}",
                }
            },
        },
    ],
    "edges": [{"from": "echo", "to": "copy"}],
}
STORED_TABLES = ("executions", "node_runs", "events", "signals", "secrets")


async def test_a_secret_in_a_header_appears_in_no_stored_row_or_log_line(
    harness: Harness, server: WorkerTestServer
) -> None:
    secret = f"sk-{uuid.uuid4().hex}"
    await harness.put_secret("API_TOKEN", secret)
    (worker,) = await harness.start_workers(TREADLE_LOG_LEVEL="DEBUG")
    execution_id = await harness.run(USES_A_SECRET, {"base": server.url})

    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    sent = [request.headers.get("authorization") for request in server.requests]
    assert sent == [f"Bearer {secret}"] * 2
    runs = harness.node_runs(execution_id)
    # The whole rendered header was computed from the secret: it is scrubbed as a whole.
    assert runs["echo"]["output"]["body"]["headers"]["authorization"] == "[redacted]"
    assert runs["echo"]["input"]["headers"]["Authorization"] == "[redacted]"
    assert runs["copy"]["output"] == {"token": "[redacted]", "echoed": "[redacted]"}
    assert runs["refused"]["error"]["kind"] == "http_status"
    assert "[redacted]" in runs["refused"]["error"]["details"]["body_excerpt"]
    for table in STORED_TABLES:
        rows = harness.query(f"SELECT t::text AS row FROM {table} AS t")
        assert rows or table == "signals"
        assert not [row for row in rows if secret in row["row"]], f"the secret is in {table}"
    assert worker.lines_with("execution advanced"), "the worker logged nothing to search"
    assert secret not in worker.log()
