"""What every workload needs: the engine in this process, worker processes, and polling.

Runs are started through the `StartRun` use case, exactly as the API's `POST /run` does,
each in its own transaction. Worker processes are the real `python -m entrypoints.worker`
(or the stamping variant for pickup latency), so a figure includes everything a deployed
worker does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg

from adapters.postgres.urls import libpq_conninfo
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.workspaces import EnsureWorkspace
from bench.pgbouncer import direct_url_for
from entrypoints.bootstrap import bootstrap
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "a-benchmark-secret-key-of-some-length"


def settings_for(url: str, **extra: Any) -> Settings:
    """Settings on `url`; through the bench's pooler, with the direct URL for sessions."""
    values = {"database_url": url, "secret_key": SECRET_KEY, **extra}
    session_url = direct_url_for(url)
    if session_url is not None:
        values["session_database_url"] = session_url
    return Settings.model_validate(values)


@asynccontextmanager
async def engine_runtime(url: str, pool_size: int = 20) -> AsyncIterator[Runtime]:
    runtime = await bootstrap(settings_for(url, pool_size=pool_size))
    try:
        yield runtime
    finally:
        await runtime.close()


async def new_workflow(runtime: Runtime, definition: dict[str, Any], name: str) -> tuple[str, str]:
    """(workspace id, workflow id) of a new workflow in the `bench` workspace."""
    workspace = await runtime.services.ensure_workspace()(EnsureWorkspace("bench"))
    workflow = await runtime.engine.create_workflow()(
        CreateWorkflow(workspace.id, f"{name}-{time.time_ns()}", definition)
    )
    return workspace.id, workflow.id


async def start_runs(
    runtime: Runtime, workspace_id: str, workflow_id: str, count: int, concurrency: int = 8
) -> list[str]:
    """Start `count` runs, each in its own transaction, `concurrency` at a time."""
    start_run = runtime.engine.start_run()
    ids: list[str] = []
    remaining = iter(range(count))

    async def client() -> None:
        for _ in remaining:
            started = await start_run(StartRun(workspace_id, workflow_id, {"n": len(ids)}))
            ids.append(started.execution.id)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return ids


def query_one(url: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row and len(row) == 1 else row


def execute(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(sql, params)


async def poll(condition: Callable[[], Awaitable[bool] | bool], what: str, limit: float) -> None:
    """Return once `condition()` holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"timed out after {limit:.0f}s waiting for {what}")


def count_status(url: str, status: str) -> int:
    return int(query_one(url, "SELECT count(*) FROM executions WHERE status = %s", (status,)))


def last_finish(url: str) -> float:
    """The epoch time of the latest finished execution."""
    return float(query_one(url, "SELECT extract(epoch FROM max(finished_at)) FROM executions"))


def spawn(module: str, url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A Python process running `module` against `url`, logging to `log`."""
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "TREADLE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    environment.pop("SUPABASE_DB_URL", None)
    session_url = direct_url_for(url)
    if session_url is not None:  # through the bench's pooler: LISTEN and membership go direct
        environment["TREADLE_SESSION_DATABASE_URL"] = session_url
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


@asynccontextmanager
async def workers(
    url: str, count: int, log_dir: Path, module: str = "entrypoints.worker", **env: str
) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes, ready (listening) before the block runs."""
    # libpq names every connection of these processes, so readiness can be seen in the server.
    env = {"PGAPPNAME": WORKER_APP_NAME, **env}
    processes = [
        spawn(module, url, log_dir / f"worker-{index}.log", **env) for index in range(count)
    ]
    try:
        await poll(lambda: _listeners(url) >= count, "workers to start listening", 60)
        yield processes
    finally:
        for process in processes:
            stop(process)


WORKER_APP_NAME = "treadle-bench-worker"
_LISTENING = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name = %s AND query LIKE 'LISTEN%%'"
)


def _listeners(url: str) -> int:
    return int(query_one(url, _LISTENING, (WORKER_APP_NAME,)))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def warm_up(
    runtime: Runtime, url: str, workspace_id: str, workflow_id: str, runs: int
) -> None:
    """Run a few executions first: a long-running worker has its statements compiled and
    prepared, its definitions cached and its pool filled; a fresh one does not."""
    await start_runs(runtime, workspace_id, workflow_id, runs, concurrency=min(runs, 8))
    await poll(lambda: count_status(url, "completed") >= runs, "the warm-up runs", 120)
