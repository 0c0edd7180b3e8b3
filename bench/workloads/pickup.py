"""W3: pickup latency — from a run request's commit to its node body starting, idle worker.

Measured twice: for an inline node (noop: the body runs inside the first step's
transaction, so this is claim + load + start) and for a network node (http_request: the
attempt is committed before the body runs, so one more durable commit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from application.use_cases.start_run import StartRun
from bench.database import drop, fresh_database
from bench.harness import engine_runtime, new_workflow, percentile, poll, workers
from bench.report import Figure, at_most, figure
from bench.scale import Context

INLINE = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}
NETWORK = {
    "nodes": [
        {"id": "only", "kind": "http_request", "config": {"url": "http://127.0.0.1:9/unused"}}
    ],
    "edges": [],
}


def read_stamps(path: Path) -> dict[str, float]:
    stamps: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                stamps[parts[0]] = float(parts[2])
    return stamps


async def measure(context: Context) -> list[Figure]:
    url = fresh_database(context.server_url, "w3")
    stamps = context.logs / f"stamps-{time.time_ns()}.txt"
    figures: list[Figure] = []
    try:
        async with (
            engine_runtime(url) as runtime,
            workers(
                url, 1, context.logs, "bench.stamping_worker", TREADLE_BENCH_STAMPS=str(stamps)
            ),
        ):
            for label, definition in (("inline noop", INLINE), ("http_request", NETWORK)):
                latencies = await _latencies(context, runtime, definition, stamps)
                figures += _figures(label, latencies)
    finally:
        drop(url)
    return figures


async def _latencies(
    context: Context, runtime: object, definition: Mapping[str, object], stamps: Path
) -> list[float]:
    workspace_id, workflow_id = await new_workflow(runtime, definition, "w3")  # type: ignore[arg-type]
    start_run = runtime.engine.start_run()  # type: ignore[attr-defined]
    latencies: list[float] = []
    for index in range(context.scale.pickups + 5):
        started = await start_run(StartRun(workspace_id, workflow_id, {"i": index}))
        committed = time.time()
        execution_id = started.execution.id
        await poll(_stamped(stamps, execution_id), "the node body to start", 30)
        if index >= 5:  # the first few warm the worker up
            latencies.append(1000 * (read_stamps(stamps)[execution_id] - committed))
        await asyncio.sleep(0.01)  # let the worker go idle again
    return latencies


def _stamped(stamps: Path, execution_id: str) -> Callable[[], bool]:
    return lambda: execution_id in read_stamps(stamps)


def _figures(label: str, latencies: list[float]) -> list[Figure]:
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    note = f"{len(latencies)} runs, max {max(latencies):.1f} ms"
    return [
        figure("W3 pickup", f"{label} p50", p50, "ms", at_most(p50, 2.0), note),
        figure("W3 pickup", f"{label} p99", p99, "ms", at_most(p99, 10.0)),
    ]
