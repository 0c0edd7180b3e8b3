"""Memory: a worker's resident set with many executions parked on timers.

The runs start with a one-hour delay; the worker advances each to `waiting` and releases
it. Its RSS is read once every one is parked (a parked execution should cost a worker
nothing: the row lives in PostgreSQL, not in the worker).
"""

from __future__ import annotations

import psutil

from bench.database import drop, fresh_database
from bench.harness import count_status, engine_runtime, new_workflow, poll, start_runs, workers
from bench.report import Figure, at_most, figure
from bench.scale import Context

PARKED = {
    "nodes": [
        {"id": "later", "kind": "delay", "config": {"seconds": 3600}},
        {"id": "after", "kind": "noop"},
    ],
    "edges": [{"from": "later", "to": "after"}],
}


async def measure(context: Context) -> list[Figure]:
    count = context.scale.timers
    url = fresh_database(context.server_url, "mem")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, PARKED, "mem")
            async with workers(url, 1, context.logs) as processes:
                idle = _rss_mb(processes[0].pid)
                await start_runs(runtime, workspace_id, workflow_id, count, concurrency=16)
                await poll(lambda: count_status(url, "waiting") >= count, "runs to park", 900)
                parked = _rss_mb(processes[0].pid)
    finally:
        drop(url)
    note = f"idle worker {idle:.0f} MB; {count:,} parked executions"
    return [figure("memory", "worker RSS", parked, "MB", at_most(parked, 150), note)]


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20
