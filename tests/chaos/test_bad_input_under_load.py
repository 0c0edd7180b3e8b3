"""Bad input under load: valid runs at a steady rate while malformed JSON, huge bodies,
unknown ids, wrong tokens and hostile values (NUL characters, nesting beyond the limit,
integers beyond 64 bits, crons that never fire) are sent alongside. No 5xx, and no valid
run is lost."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.chaos.support import (
    admin_token,
    count_completed,
    new_workflow,
    runtime_on,
    spawn,
)
from tests.strategies import NEVER_FIRING_CRONS, NUL
from tests.support.api_stack import stop, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

NEVER = NEVER_FIRING_CRONS[0]
DEEP = b"[" * 5_000 + b"]" * 5_000
VALID_PER_SECOND = 25
SECONDS = 6
ECHO = {
    "nodes": [{"id": "shape", "kind": "transform", "config": {"output": {"x": "{{ input.x }}"}}}],
    "edges": [],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_invalid_requests_alongside_valid_ones_get_4xx_and_cost_nothing(
    chaos_database: str, tmp_path: Path
) -> None:
    url = chaos_database
    token, workflow_id = asyncio.run(_prepare(url))
    port = free_port()
    api = spawn("entrypoints.api.main", url, tmp_path / "api.log", TREADLE_API_PORT=str(port))
    worker = spawn("entrypoints.worker", url, tmp_path / "worker.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ready(base), "the API", 60)
        valid, invalid = asyncio.run(_load(base, token, workflow_id))
        ids = [execution_id for _, execution_id in valid]
        wait_until(lambda: count_completed(url, ids) == len(ids), "the valid runs", 60)
    finally:
        stop(api)
        stop(worker)
    assert {status for status, _ in valid} == {201}
    assert len(ids) == VALID_PER_SECOND * SECONDS
    assert invalid and all(400 <= status < 500 for status in invalid), sorted(set(invalid))


async def _prepare(url: str) -> tuple[str, str]:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, ECHO)
        return await admin_token(runtime, workspace_id), workflow_id


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def _load(base: str, token: str, workflow_id: str) -> tuple[list[tuple[int, str]], list[int]]:
    good = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/workflows/{workflow_id}/run"
    async with httpx.AsyncClient(base_url=base, headers=good, timeout=30) as client:
        valid_task = asyncio.create_task(_valid_runs(client, path))
        invalid = await _invalid_stream(client, path, time.monotonic() + SECONDS)
        return await valid_task, invalid


async def _valid_runs(client: httpx.AsyncClient, path: str) -> list[tuple[int, str]]:
    async def one(index: int) -> tuple[int, str]:
        response = await client.post(path, json={"input": {"x": index}})
        body = response.json() if response.status_code == 201 else {}
        return response.status_code, str(body.get("execution_id", ""))

    tasks = []
    origin = time.monotonic()
    for index in range(VALID_PER_SECOND * SECONDS):
        await asyncio.sleep(max(0.0, origin + index / VALID_PER_SECOND - time.monotonic()))
        tasks.append(asyncio.create_task(one(index)))
    return list(await asyncio.gather(*tasks))


async def _invalid_stream(client: httpx.AsyncClient, path: str, until: float) -> list[int]:
    json_header = {"Content-Type": "application/json"}
    workflow = path.split("/")[-2]
    attempts = [
        lambda: client.post(path, content=b'{"input": ', headers=json_header),
        lambda: client.post(path, content=b"\xff\xfe not json", headers=json_header),
        lambda: client.post(
            path, content=b'{"input": "' + b"x" * 3_000_000 + b'"}', headers=json_header
        ),
        lambda: client.post("/api/v1/workflows/wf_does_not_exist/run", json={"input": {}}),
        lambda: client.get("/api/v1/executions/ex_does_not_exist"),
        lambda: client.post(path, json={"input": {}}, headers={"Authorization": "Bearer wrong"}),
        lambda: client.post(path, json={"input": {}}, headers={"Authorization": "Basic eDp5"}),
        lambda: client.post(path, json=[1, 2, 3]),
        lambda: client.post(path, json={"input": {}, "start_at": "not a date"}),
        lambda: client.post(path, json={"input": {"x": NUL}}),
        lambda: client.post(path, json={"input": {"x": 2**63}}),
        lambda: client.post(path, content=b'{"input": ' + DEEP + b"}", headers=json_header),
        lambda: client.get("/api/v1/workflows/wf%00"),
        lambda: client.post("/api/v1/workflows", json={"name": NUL, "definition": ECHO}),
        lambda: client.post("/api/v1/schedules", json={"workflow_id": workflow, "cron": NEVER}),
    ]
    statuses = []
    while time.monotonic() < until:
        for attempt in attempts:
            statuses.append((await attempt()).status_code)
    return statuses
