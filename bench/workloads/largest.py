"""W7: the largest workflow allowed — one execution of a chain of `MAX_NODES` noop nodes,
1 worker; the figure is the time per node, which stays flat only if a step's cost is
linear in the nodes it changes."""

from __future__ import annotations

import time

from bench.database import drop, fresh_database
from bench.harness import count_status, engine_runtime, new_workflow, poll, start_runs, workers
from bench.report import Figure, at_most, figure
from bench.scale import Context
from bench.workloads.steps import chain
from domain.validation import MAX_NODES

TARGET_MS_PER_NODE = 2.0


async def measure(context: Context) -> list[Figure]:
    length = context.scale.largest_chain
    url = fresh_database(context.server_url, "w6")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, chain(length), "w6")
            async with workers(url, 1, context.logs):
                first = time.monotonic()
                await start_runs(runtime, workspace_id, workflow_id, 1, concurrency=1)
                await poll(lambda: count_status(url, "completed") >= 1, "W7 to finish", 600)
                elapsed = time.monotonic() - first
    finally:
        drop(url)
    per_node = 1000 * elapsed / length
    note = f"one {length}-node noop chain (the limit is {MAX_NODES}), {elapsed:.1f} s in all"
    return [
        figure(
            "W7 largest chain",
            "per node",
            per_node,
            "ms",
            at_most(per_node, TARGET_MS_PER_NODE),
            note,
        )
    ]
