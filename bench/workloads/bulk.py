"""W8: bulk runs — executions started per second 1,000 runs a request (`StartRuns`, as
`POST /runs` starts them), next to single runs (`StartRun`, as W1 and `POST /run` start
them).

Through the use cases in this process, as W1 starts its runs, on one fresh database; no
worker runs, so the figures are the cost of starting alone. Each phase starts on an empty
executions table, after a warm-up that prepares its statements.
"""

from __future__ import annotations

import asyncio
import time

from application.document_limits import MAX_RUNS
from application.use_cases.start_run import StartRun
from application.use_cases.start_runs import StartRuns
from bench.database import drop, fresh_database
from bench.harness import count_status, engine_runtime, execute, new_workflow, start_runs
from bench.report import Figure, figure
from bench.scale import Context
from bench.workloads.throughput import ONE_STEP
from entrypoints.runtime import Runtime

SINGLE_CLIENTS = 16
"""As W1 starts its runs."""
BULK_CLIENTS = (1, 4)


async def measure(context: Context) -> list[Figure]:
    url = fresh_database(context.server_url, "w8")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, ONE_STEP, "w8")
            await start_runs(runtime, workspace_id, workflow_id, 200, SINGLE_CLIENTS)
            await _bulk(runtime, workspace_id, workflow_id, 4 * MAX_RUNS, max(BULK_CLIENTS))
            singles = context.scale.throughput_runs
            execute(url, "DELETE FROM executions")
            first = time.perf_counter()
            await start_runs(runtime, workspace_id, workflow_id, singles, SINGLE_CLIENTS)
            single_rate = singles / (time.perf_counter() - first)
            bulk_rates = {}
            for clients in BULK_CLIENTS:
                execute(url, "DELETE FROM executions")
                runs = context.scale.bulk_runs
                first = time.perf_counter()
                await _bulk(runtime, workspace_id, workflow_id, runs, clients)
                bulk_rates[clients] = runs / (time.perf_counter() - first)
                if count_status(url, "pending") != runs:
                    raise RuntimeError("W8: not every bulk run was stored")
    finally:
        drop(url)
    figures = [
        figure(
            "W8 bulk runs",
            f"single runs, {SINGLE_CLIENTS} clients",
            single_rate,
            "exec/s",
            note=f"StartRun, one transaction a run ({singles:,} runs)",
        )
    ]
    for clients, rate in bulk_rates.items():
        per_request = 1000 * MAX_RUNS / rate * clients
        figures.append(
            figure(
                "W8 bulk runs",
                f"{MAX_RUNS:,} a request, {clients} client(s)",
                rate,
                "exec/s",
                note=f"{rate / single_rate:.1f}x single runs; {per_request:,.0f} ms a request",
            )
        )
    return figures


async def _bulk(
    runtime: Runtime, workspace_id: str, workflow_id: str, count: int, clients: int
) -> None:
    """Start `count` runs, `MAX_RUNS` a request, `clients` requests at a time."""
    start = runtime.engine.start_runs()
    batches = iter(range(0, count, MAX_RUNS))

    async def client() -> None:
        for offset in batches:
            size = min(MAX_RUNS, count - offset)
            inputs = [{"n": offset + n} for n in range(size)]
            runs = [StartRun(workspace_id, workflow_id, value) for value in inputs]
            await start(StartRuns(workspace_id, workflow_id, runs))

    await asyncio.gather(*(client() for _ in range(clients)))
