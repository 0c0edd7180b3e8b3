"""W5: the API's `POST /run` — throughput with 16 concurrent clients, latency at 200 req/s.

The real API (`python -m entrypoints.api.main`, uvicorn, one process per core behind one
port) on a fresh database. Throughput is measured twice: with wrk (a C load generator,
when installed: the API's own capacity) and with httpx async clients in this process
(which on a 2-core machine take about as much CPU per request as the API). Latency at a
steady rate uses the httpx clients.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from application.use_cases.tokens import CreateToken
from bench import wrk
from bench.database import drop, free_port, fresh_database
from bench.harness import engine_runtime, new_workflow, percentile, poll, spawn, stop
from bench.report import Figure, at_least, at_most, figure
from bench.scale import Context
from bench.workloads.throughput import ONE_STEP

CLIENTS = 16
API_PROCESSES = os.cpu_count() or 1
"""One API process per core, as the operations guide recommends."""


async def measure(context: Context) -> list[Figure]:
    url = fresh_database(context.server_url, "w5")
    native: wrk.WrkResult | None = None
    try:
        async with _api(context, url) as (client, path):
            for _ in range(50):  # warm up: compile statements, fill the pool
                (await client.post(path, json={"input": {}})).raise_for_status()
            if wrk.available():
                native = await wrk.saturate(
                    f"{client.base_url}{path}",
                    {"input": {"n": 1}},
                    {"Authorization": client.headers["Authorization"]},
                    CLIENTS,
                    context.scale.api_seconds,
                )
            rate, errors = await _saturate(client, path, context.scale.api_seconds)
            latencies, late_errors = await _steady(
                client, path, context.scale.api_rate, context.scale.api_seconds
            )
    finally:
        drop(url)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    steady = f"{context.scale.api_rate} req/s"
    return [
        _native_figure(native),
        figure(
            "W5 API",
            f"POST /run, {CLIENTS} Python clients",
            rate,
            "req/s",
            None if native is not None else at_least(rate, 800),
            f"non-2xx: {errors}; the clients share the CPU",
        ),
        figure("W5 API", f"p50 at {steady}", p50, "ms", at_most(p50, 20.0)),
        figure(
            "W5 API", f"p99 at {steady}", p99, "ms", at_most(p99, 20.0), f"non-2xx: {late_errors}"
        ),
    ]


def _native_figure(native: wrk.WrkResult | None) -> Figure:
    label = f"POST /run, {CLIENTS} conns (wrk), {API_PROCESSES} API procs"
    if native is None:
        return figure("W5 API", label, float("nan"), "req/s", note="wrk is not installed")
    rate = native.requests_per_second
    return figure("W5 API", label, rate, "req/s", at_least(rate, 800), f"non-2xx: {native.non_2xx}")


@asynccontextmanager
async def _api(context: Context, url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with engine_runtime(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, ONE_STEP, "w5")
        create_token = runtime.services.create_token()
        token = (await create_token(CreateToken(workspace_id, "bench", "admin"))).secret
    port = free_port()
    process = spawn(
        "entrypoints.api.main",
        url,
        context.logs / "api.log",
        TREADLE_API_PORT=str(port),
        TREADLE_API_WORKERS=str(API_PROCESSES),
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    try:
        async with httpx.AsyncClient(
            base_url=base, headers=headers, limits=limits, timeout=30
        ) as client:
            await poll(lambda: _ready(client, process), "the API to answer /readyz", 60)
            yield client, f"/api/v1/workflows/{workflow_id}/run"
    finally:
        stop(process)


async def _ready(client: httpx.AsyncClient, process: object) -> bool:
    if process.poll() is not None:  # type: ignore[attr-defined]
        raise RuntimeError("the API process exited; see api.log")
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _saturate(client: httpx.AsyncClient, path: str, seconds: float) -> tuple[float, int]:
    """Requests/s with CLIENTS clients each sending back to back; and how many failed."""
    deadline = time.perf_counter() + seconds
    done, errors = 0, 0

    async def one_client() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            response = await client.post(path, json={"input": {"n": done}})
            done += 1
            errors += response.status_code >= 300

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return done / (time.perf_counter() - started), errors


async def _steady(
    client: httpx.AsyncClient, path: str, rate: int, seconds: float
) -> tuple[list[float], int]:
    """Latencies (ms) of requests sent on a fixed schedule of `rate` per second."""
    latencies: list[float] = []
    errors = 0

    async def one(index: int) -> None:
        nonlocal errors
        started = time.perf_counter()
        response = await client.post(path, json={"input": {"n": index}})
        latencies.append(1000 * (time.perf_counter() - started))
        errors += response.status_code >= 300

    tasks = []
    origin = time.perf_counter()
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, origin + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return latencies, errors
