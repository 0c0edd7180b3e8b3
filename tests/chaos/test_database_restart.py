"""Database restart: PostgreSQL stopped and started twice while 200 executions run.

Every accepted run completes, the API answers 503 (never 500) while the database is down,
workers log that they are reconnecting, and no transition is written twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chaos.support import (
    FAST_LEASES,
    OwnServer,
    admin_token,
    assert_histories_whole,
    count_completed,
    describe_unfinished,
    log_text,
    new_workflow,
    runtime_on,
    spawn,
)
from tests.support.api_stack import free_port, stop, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

RUNS = 200
DEADLINE = 90.0
STEPS: dict[str, Any] = {
    "nodes": [
        {"id": "pause", "kind": "delay", "config": {"seconds": 1}},
        {"id": "shape", "kind": "transform", "config": {"output": {"x": "{{ input.x }}"}}},
    ],
    "edges": [{"from": "pause", "to": "shape"}],
}


def test_runs_survive_two_database_restarts(
    own_server: tuple[OwnServer, str], tmp_path: Path
) -> None:
    server, url = own_server
    token, workflow_id = asyncio.run(_prepare(url))
    port = free_port()
    api = spawn("entrypoints.api.main", url, tmp_path / "api.log", TREADLE_API_PORT=str(port))
    workers = [
        spawn("entrypoints.worker", url, tmp_path / f"w{i}.log", **FAST_LEASES) for i in range(2)
    ]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    run_path = f"/api/v1/workflows/{workflow_id}/run"
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            wait_until(lambda: _answers(client, "/readyz") == 200, "the API", 60)
            ids = [_run(client, run_path, i) for i in range(RUNS)]
            outages = [_outage(server, client, run_path) for _ in range(2)]
            try:
                wait_until(
                    lambda: count_completed(url, ids) == RUNS, "every run to complete", DEADLINE
                )
            except AssertionError as error:
                unfinished = describe_unfinished(url, ids)
                raise AssertionError(f"{error}; unfinished: {unfinished}") from None
    finally:
        for process in (api, *workers):
            stop(process)
    for statuses in outages:
        assert statuses and set(statuses) <= {503}, statuses
    assert "reconnecting" in log_text(tmp_path)
    assert_histories_whole(url, ids)


async def _prepare(url: str) -> tuple[str, str]:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, STEPS)
        return await admin_token(runtime, workspace_id), workflow_id


def _answers(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.HTTPError:
        return 0


def _run(client: httpx.Client, path: str, index: int) -> str:
    response = client.post(path, json={"input": {"x": index}})
    assert response.status_code == 201, response.text
    return str(response.json()["execution_id"])


def _outage(server: OwnServer, client: httpx.Client, run_path: str) -> list[int]:
    """Stop the server, collect what the API answers while it is down, start it again."""
    server.stop_server()
    statuses = [client.post(run_path, json={"input": {"x": -1}}).status_code for _ in range(5)]
    statuses += [client.get("/readyz").status_code]
    server.start_server()
    wait_until(lambda: _answers(client, "/readyz") == 200, "the API to see the database", 30)
    return statuses
