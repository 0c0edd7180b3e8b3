"""End to end over HTTP: a real API process and a real worker process on PostgreSQL.

Create, run, watch the event stream to completion, read node outputs; idempotent runs;
signal; cancel; retry from failure; a schedule that fires.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from adapters.postgres.migrate import upgrade
from tests.api.workflows import CHOOSES, ECHO, WAITS_FOR_GO
from tests.support.api_stack import DEADLINE, ROOT, api_and_worker, free_port
from tests.support.databases import drop_database, fresh_database_url

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_api_e2e")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def stack(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of an API process and a worker process on `database`."""
    with api_and_worker(database, tmp_path_factory.mktemp("e2e-logs")) as running:
        yield running.base_url, running.token


@pytest.fixture
async def client(stack: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    base, token = stack
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) as http:
        yield http


async def create(client: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    name = f"wf-{time.monotonic_ns()}"
    response = await client.post("/api/v1/workflows", json={"name": name, "definition": definition})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run(client: httpx.AsyncClient, workflow_id: str, input: Any = None) -> str:
    response = await client.post(f"/api/v1/workflows/{workflow_id}/run", json={"input": input})
    assert response.status_code == 201, response.text
    return str(response.json()["execution_id"])


async def status_becomes(
    client: httpx.AsyncClient, execution_id: str, wanted: str
) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE):
        while True:
            body: dict[str, Any] = (await client.get(f"/api/v1/executions/{execution_id}")).json()
            if body["status"] == wanted:
                return body
            await asyncio.sleep(0.1)


async def stream_to_end(client: httpx.AsyncClient, execution_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE):
        async with client.stream("GET", f"/api/v1/executions/{execution_id}/stream") as response:
            event_name = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event_name = line.partition(":")[2].strip()
                elif line.startswith("data:") and event_name is None:
                    events.append(json.loads(line.partition(":")[2]))
                elif line.startswith("data:") and event_name == "end":
                    return events
    raise AssertionError("the stream closed before its end event")


async def test_run_watch_the_stream_to_completion_and_read_outputs(
    client: httpx.AsyncClient,
) -> None:
    execution_id = await run(client, await create(client, ECHO), {"x": 7})
    events = await stream_to_end(client, execution_id)
    assert events[0]["type"] == "execution_created"
    assert events[-1]["type"] == "execution_completed"
    detail = (await client.get(f"/api/v1/executions/{execution_id}")).json()
    outputs = {run["node_id"]: run["output"] for run in detail["node_runs"]}
    assert outputs["double"] == {"x": 7}


async def test_an_idempotent_run_returns_the_same_execution(client: httpx.AsyncClient) -> None:
    workflow_id = await create(client, ECHO)
    path = f"/api/v1/workflows/{workflow_id}/run"
    first = await client.post(path, json={"input": {"x": 1}}, headers={"Idempotency-Key": "k1"})
    again = await client.post(path, json={"input": {"x": 1}}, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["execution_id"] == again.json()["execution_id"]


async def test_a_signal_completes_a_waiting_execution(client: httpx.AsyncClient) -> None:
    execution_id = await run(client, await create(client, WAITS_FOR_GO))
    await status_becomes(client, execution_id, "waiting")
    sent = await client.post(f"/api/v1/executions/{execution_id}/signals/go", json={"v": 1})
    assert sent.status_code == 202
    done = await status_becomes(client, execution_id, "completed")
    outputs = {run["node_id"]: run["output"] for run in done["node_runs"]}
    assert outputs["after"]["payload"] == {"v": 1}


async def test_cancel_a_waiting_execution(client: httpx.AsyncClient) -> None:
    execution_id = await run(client, await create(client, WAITS_FOR_GO))
    await status_becomes(client, execution_id, "waiting")
    response = await client.post(f"/api/v1/executions/{execution_id}/cancel")
    assert response.status_code == 202
    await status_becomes(client, execution_id, "cancelled")


async def test_retry_from_failure_runs_the_failed_node_again(client: httpx.AsyncClient) -> None:
    execution_id = await run(client, await create(client, CHOOSES), {"flag": False})
    await status_becomes(client, execution_id, "failed")
    retried = await client.post(f"/api/v1/executions/{execution_id}/retry")
    assert retried.status_code == 202
    await status_becomes(client, execution_id, "failed")
    events = (await client.get(f"/api/v1/executions/{execution_id}/events?limit=1000")).json()
    types = [event["type"] for event in events["items"]]
    assert types.count("execution_failed") == 2
    assert "execution_retried" in types


async def test_a_schedule_fires_and_its_execution_completes(client: httpx.AsyncClient) -> None:
    workflow_id = await create(client, ECHO)
    created = await client.post(
        "/api/v1/schedules",
        json={"workflow_id": workflow_id, "cron": "* * * * * *", "input": {"x": 3}},
    )
    assert created.status_code == 201, created.text
    schedule_id = created.json()["id"]
    async with asyncio.timeout(DEADLINE):
        while True:
            page = (await client.get(f"/api/v1/workflows/{workflow_id}/executions")).json()
            if page["items"]:
                break
            await asyncio.sleep(0.1)
    await client.post(f"/api/v1/schedules/{schedule_id}/disable")
    fired = page["items"][-1]
    assert fired["schedule_id"] == schedule_id
    await status_becomes(client, fired["id"], "completed")


async def test_the_api_refuses_to_start_on_an_unmigrated_database(postgres_server_url: str) -> None:
    empty = fresh_database_url(postgres_server_url, "treadle_api_empty")
    try:
        env = {**os.environ, "DATABASE_URL": empty, "TREADLE_API_PORT": str(free_port())}
        done = subprocess.run(
            [sys.executable, "-m", "entrypoints.api.main"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    finally:
        drop_database(empty)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "treadle migrate" in lines[0]
