"""W6: one `for_each` over 1,000 items of a one-node child workflow, drained by one worker
set up as W1's (a real worker process, 50 slots).

The parent's first node lists the numbers below `input.count`; its `for_each` node runs the
child (a `transform` doubling its `n`) once per number. The figure is items per second from
the run request to the parent's completion, with the default parallelism (10) and with 100.
Beside them, the same number of runs of the same child started one request each, as in W1,
on the same worker: the cost per item is compared with that cost per execution.
"""

from __future__ import annotations

import time
from typing import Any

from application.use_cases.start_run import StartRun
from bench.database import drop, fresh_database
from bench.harness import (
    count_status,
    engine_runtime,
    execute,
    last_finish,
    new_workflow,
    poll,
    query_one,
    start_runs,
    warm_up,
    workers,
)
from bench.report import Figure, at_least, figure
from bench.scale import Context
from bench.workloads.throughput import _cpu_seconds
from domain.status import ExecutionStatus
from entrypoints.runtime import Runtime

CHILD = {
    "nodes": [{"id": "double", "kind": "transform", "config": {"output": "{{ input.n * 2 }}"}}]
}
DEFAULT_PARALLELISM = 10
PARALLELISMS = (None, 100)
"""None: the node leaves `parallelism` out and gets the default."""
WORKERS = 1
WARM_UP_ITEMS = 50
NAME = "W6 for-each"


def parent(child_id: str, parallelism: int | None) -> dict[str, Any]:
    each: dict[str, Any] = {
        "items": "nodes.list.output",
        "workflow": child_id,
        "input": {"n": "{{ item }}"},
    }
    if parallelism is not None:
        each["parallelism"] = parallelism
    return {
        "nodes": [
            {
                "id": "list",
                "kind": "transform",
                "config": {"output": "{{ range(input.count) | list }}"},
            },
            {"id": "each", "kind": "for_each", "config": each},
        ],
        "edges": [{"from": "list", "to": "each"}],
    }


async def measure(context: Context) -> list[Figure]:
    items = context.scale.for_each_items
    url = fresh_database(context.server_url, "w6")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, child_id = await new_workflow(runtime, CHILD, "w6-child")
            parents = {
                parallelism: (await new_workflow(runtime, parent(child_id, parallelism), "w6"))[1]
                for parallelism in PARALLELISMS
            }
            async with workers(
                url, WORKERS, context.logs, TREADLE_WORKER_CONCURRENCY="50"
            ) as processes:
                for parent_id in parents.values():
                    await _for_each(runtime, url, workspace_id, parent_id, WARM_UP_ITEMS)
                execute(url, "DELETE FROM executions")
                await warm_up(runtime, url, workspace_id, child_id, 20)

                execute(url, "DELETE FROM executions")
                cpu_before = _cpu_seconds(processes)
                first = time.time()
                await start_runs(runtime, workspace_id, child_id, items, concurrency=16)
                await poll(lambda: count_status(url, "completed") >= items, "W6's plain runs", 600)
                direct = items / (last_finish(url) - first)
                cpu = 1000 * (_cpu_seconds(processes) - cpu_before) / items
                note = f"W1's shape, the baseline of the ratios; worker CPU {cpu:.2f} ms/exec"
                figures = [
                    figure(NAME, f"the child as {items:,} runs", direct, "exec/s", note=note)
                ]

                for parallelism, parent_id in parents.items():
                    execute(url, "DELETE FROM executions")
                    cpu_before = _cpu_seconds(processes)
                    elapsed, rounds = await _for_each(runtime, url, workspace_id, parent_id, items)
                    cpu = 1000 * (_cpu_seconds(processes) - cpu_before) / items
                    rate = items / elapsed
                    note = (
                        f"{1000 / rate:.2f} ms/item = {direct / rate:.2f}x a run's;"
                        f" worker CPU {cpu:.2f} ms/item; items started in {rounds} rounds"
                    )
                    metric = f"{items:,} items, parallelism {parallelism or DEFAULT_PARALLELISM}"
                    goal = at_least(rate, round(direct))
                    figures.append(figure(NAME, metric, rate, "items/s", goal, note))
    finally:
        drop(url)
    return figures


async def _for_each(
    runtime: Runtime, url: str, workspace_id: str, parent_id: str, items: int
) -> tuple[float, int]:
    """(seconds from the run request to the parent's end, how many steps of the parent
    started items) of one parent over `items` items; raises unless it completed with every
    item's output, in item order."""
    first = time.time()
    started = await runtime.engine.start_run()(StartRun(workspace_id, parent_id, {"count": items}))
    execution_id = started.execution.id
    await poll(lambda: _ended(url, execution_id), f"a for-each over {items} items", 900)
    status, finished, error, output = query_one(url, _PARENT, (execution_id,))
    if status != "completed":
        raise RuntimeError(f"the for-each parent ended {status}: {error}")
    if not isinstance(output, list) or len(output) != items:
        found = len(output) if isinstance(output, list) else type(output).__name__
        raise RuntimeError(f"the for-each output has {found} entries, not {items}")
    if output != [{"double": 2 * n} for n in range(items)]:
        raise RuntimeError("the for-each output is not every item's output in item order")
    rounds = int(query_one(url, _ROUNDS, (execution_id,)))
    return float(finished) - first, rounds


_PARENT = """
SELECT e.status, extract(epoch FROM e.finished_at), e.error, r.output
FROM executions e JOIN node_runs r ON r.execution_id = e.id AND r.node_id = 'each'
WHERE e.id = %s
"""
_ROUNDS = "SELECT count(*) FROM events WHERE execution_id = %s AND type = 'node_items_started'"


def _ended(url: str, execution_id: str) -> bool:
    status = query_one(url, "SELECT status FROM executions WHERE id = %s", (execution_id,))
    return ExecutionStatus(status).is_terminal
