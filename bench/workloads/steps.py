"""W2: per-step overhead — executions of a long sequential chain of noop nodes, 1 worker."""

from __future__ import annotations

import time
from typing import Any

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
from bench.report import Figure, at_most, figure
from bench.scale import Context

TARGET_MS_PER_STEP = 1.0


def chain(length: int) -> dict[str, Any]:
    nodes = [{"id": f"n{index}", "kind": "noop"} for index in range(length)]
    edges = [{"from": f"n{index}", "to": f"n{index + 1}"} for index in range(length - 1)]
    return {"nodes": nodes, "edges": edges}


async def measure(context: Context) -> list[Figure]:
    count, length = context.scale.chain_executions, context.scale.chain_length
    url = fresh_database(context.server_url, "w2")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, chain(length), "w2")
            async with workers(url, 1, context.logs):
                await warm_up(runtime, url, workspace_id, workflow_id, 4)
                execute(url, "DELETE FROM executions")
                first = time.time()
                await start_runs(runtime, workspace_id, workflow_id, count, concurrency=count)
                await poll(lambda: count_status(url, "completed") >= count, "W2 to finish", 300)
                elapsed = last_finish(url) - first
    finally:
        drop(url)
    steps = count * length
    per_step = 1000 * elapsed / steps
    note = f"{count} x {length} noop chain, {steps / elapsed:,.0f} steps/s"
    return [figure("W2 step overhead", "per step", per_step, "ms", at_most(per_step, 1.0), note)]
