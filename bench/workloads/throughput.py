"""W1: one-step workflows started one transaction each, drained by 1 and by 4 workers."""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Any

import psutil

from bench.database import drop, fresh_database
from bench.harness import (
    count_status,
    engine_runtime,
    execute,
    last_finish,
    new_workflow,
    poll,
    start_runs,
    warm_up,
    workers,
)
from bench.report import Figure, at_least, figure
from bench.scale import Context

ONE_STEP: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}
TARGET_PER_SECOND = 1_000


async def measure(context: Context) -> list[Figure]:
    figures = []
    for worker_count in (1, 4):
        rate, insert_rate, cpu_ms = await _drain(context, worker_count)
        goal = at_least(rate, TARGET_PER_SECOND) if worker_count == 4 else None
        note = f"requests alone: {insert_rate:,.0f}/s; worker CPU {cpu_ms:.2f} ms/exec"
        figures.append(
            figure("W1 throughput", f"{worker_count} worker(s)", rate, "exec/s", goal, note)
        )
    return figures


def _cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU the processes have used so far: on a shared machine a steadier
    measure of the worker's cost than its rate."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system
    return total


async def _drain(
    context: Context,
    worker_count: int,
    definition: dict[str, Any] = ONE_STEP,
    name: str = "w1",
) -> tuple[float, float, float]:
    """(executions/s from first request to last completion, requests/s, worker CPU ms per
    execution) for `definition`, started with inputs `{"n": 0}`, `{"n": 1}`, ..."""
    runs = context.scale.throughput_runs
    url = fresh_database(context.server_url, f"{name}_{worker_count}")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, definition, name)
            async with workers(
                url, worker_count, context.logs, TREADLE_WORKER_CONCURRENCY="50"
            ) as processes:
                await warm_up(runtime, url, workspace_id, workflow_id, 20 * worker_count)
                execute(url, "DELETE FROM executions")
                cpu_before = _cpu_seconds(processes)
                first = time.time()
                await start_runs(runtime, workspace_id, workflow_id, runs, concurrency=16)
                inserted = time.time()
                await poll(lambda: count_status(url, "completed") >= runs, "W1 to drain", 600)
                last = last_finish(url)
                cpu_ms = 1000 * (_cpu_seconds(processes) - cpu_before) / runs
        return runs / (last - first), runs / (inserted - first), cpu_ms
    finally:
        drop(url)
