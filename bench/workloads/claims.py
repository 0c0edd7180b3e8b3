"""W4: claim cost as history grows — claim latency over 10,000 and 1,000,000 finished rows.

Finished executions are bulk-inserted with generate_series (their rows never match the
claimable partial index). Then, one at a time, a pending execution is made claimable,
claimed through the work queue, and finished again, so each sample claims from a queue of
exactly one due row among the history.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bench.database import drop, fresh_database
from bench.harness import engine_runtime, execute, new_workflow, percentile
from bench.report import Figure, at_most, figure
from bench.scale import Context
from bench.workloads.throughput import ONE_STEP

FINISHED_ROWS = """
INSERT INTO executions (id, workspace_id, workflow_id, version, status, created_at,
                        started_at, finished_at, seq)
SELECT 'ex_hist_' || lpad(g::text, 9, '0'), %(workspace)s, %(workflow)s, 1, 'completed',
       now() - interval '1 day' + g * interval '1 millisecond', now() - interval '1 day',
       now() - interval '1 day', 3
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""
PENDING_ROW = """
INSERT INTO executions (id, workspace_id, workflow_id, version, status, created_at, seq)
VALUES (%(id)s, %(workspace)s, %(workflow)s, 1, 'pending', now(), 1)
"""
FINISH = "UPDATE executions SET status = 'completed', lease_owner = NULL WHERE id = %(id)s"


async def measure(context: Context) -> list[Figure]:
    url = fresh_database(context.server_url, "w4")
    figures: list[Figure] = []
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, workflow_id = await new_workflow(runtime, ONE_STEP, "w4")
            names = {"workspace": workspace_id, "workflow": workflow_id}
            medians = []
            inserted = 0
            for size in (context.scale.small_history, context.scale.large_history):
                _grow(url, names, inserted, size)
                inserted = size
                samples = await _claims(runtime, url, names, context.scale.claim_samples)
                medians.append(percentile(samples, 0.5))
                note = f"p99 {percentile(samples, 0.99):.2f} ms"
                figures.append(
                    figure("W4 claim", f"{size:,} finished", medians[-1], "ms", None, note)
                )
            growth = medians[1] / medians[0]
            figures.append(figure("W4 claim", "growth", growth, "x", at_most(growth, 1.5)))
    finally:
        drop(url)
    return figures


def _grow(url: str, names: dict[str, str], have: int, want: int) -> None:
    step = 200_000
    for first in range(have + 1, want + 1, step):
        last = min(want, first + step - 1)
        _run(url, FINISHED_ROWS, {**names, "first": first, "last": last})
    execute(url, "VACUUM ANALYZE executions")


def _run(url: str, sql: str, params: dict[str, object]) -> None:
    import psycopg

    from adapters.postgres.urls import libpq_conninfo

    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(sql, params)


async def _claims(runtime: object, url: str, names: dict[str, str], samples: int) -> list[float]:
    queue = runtime.queue  # type: ignore[attr-defined]
    latencies = []
    for index in range(samples + 10):
        execution_id = f"ex_claim_{time.time_ns()}_{index}"
        _run(url, PENDING_ROW, {**names, "id": execution_id})
        started = time.perf_counter()
        leases = await queue.claim("bench", 1, timedelta(seconds=30))
        elapsed = 1000 * (time.perf_counter() - started)
        assert [lease.execution_id for lease in leases] == [execution_id], leases
        _run(url, FINISH, {"id": execution_id})
        if index >= 10:
            latencies.append(elapsed)
    return latencies
