"""End to end over HTTP: a real API process and a real worker process on PostgreSQL.

Create, run, watch the event stream to completion, read node outputs; idempotent runs;
signal; cancel; retry from failure; a schedule that fires.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.postgres.migrate import upgrade
from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings
from tests.api.workflows import CHOOSES, ECHO, WAITS_FOR_GO
from tests.support.databases import drop_database, fresh_database_url

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "an-e2e-secret-key-of-some-length"
DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_api_e2e")
    upgrade(url)
    yield url
    drop_database(url)


async def bootstrap_token(url: str) -> str:
    settings = Settings.model_validate({"database_url": url, "secret_key": SECRET_KEY})
    runtime = await bootstrap(settings)
    try:
        services = runtime.services
        workspace = await services.ensure_workspace()(EnsureWorkspace("e2e"))
        created = await services.create_token()(CreateToken(workspace.id, "e2e", "admin"))
        return created.secret
    finally:
        await runtime.close()


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def stack(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of an API process and a worker process on `database`."""
    token = asyncio.run(bootstrap_token(database))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": SECRET_KEY,
        "TREADLE_API_PORT": str(port),
        "TREADLE_POLL_INTERVAL": "0.2",
        "TREADLE_LOG_LEVEL": "WARNING",
    }
    logs = tmp_path_factory.mktemp("e2e-logs")
    api = start("entrypoints.api.main", env, logs / "api.log")
    worker = start("entrypoints.worker", env, logs / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(base, api), "the API to answer /readyz")
        yield base, token
    finally:
        stop(api)
        stop(worker)
        for name in ("api.log", "worker.log"):
            tail = (logs / name).read_text(errors="replace")[-2000:]
            print(f"--- {name} ---\n{tail}")


def _ready(base: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the API process exited with {process.returncode}")
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


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
