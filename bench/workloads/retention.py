"""W10: retention under load — W1's throughput while a retention pass prunes a large history.

The history (finished executions 40 days old, each with a node run and three events) is
bulk-inserted with generate_series. W1 (one-step runs drained by 4 workers) runs once
alone, then again while a retention pass deletes the history in batches of 500
executions. The figures: W1's rate and its worst gap (the longest time between two
successive completions) alone and during pruning, the longest single pruning transaction,
and how fast the pass deleted.
"""

from __future__ import annotations

import asyncio
import time

from application.retention import RetentionPass
from bench.database import drop, fresh_database
from bench.harness import engine_runtime, execute, new_workflow, poll, query_one, start_runs
from bench.harness import workers as worker_processes
from bench.report import Figure, at_most, figure
from bench.scale import Context
from bench.workloads.throughput import ONE_STEP
from entrypoints.runtime import Runtime

WORKERS = 4
CHUNK = 200_000
EXECUTIONS = """
INSERT INTO executions (id, workspace_id, workflow_id, version, status, created_at,
                        started_at, finished_at, seq)
SELECT 'ex_old_' || lpad(g::text, 9, '0'), %(workspace)s, %(workflow)s, 1, 'completed',
       now() - interval '41 days' + g * interval '1 millisecond',
       now() - interval '41 days', now() - interval '40 days', 4
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""
NODE_RUNS = """
INSERT INTO node_runs (execution_id, node_id, position, status, attempt, started_at, finished_at)
SELECT 'ex_old_' || lpad(g::text, 9, '0'), 'only', 0, 'succeeded', 1,
       now() - interval '41 days', now() - interval '40 days'
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""
EVENTS = """
INSERT INTO events (execution_id, seq, type, node_id, payload, created_at)
SELECT 'ex_old_' || lpad(g::text, 9, '0'), s, 'node_succeeded', 'only', '{}'::jsonb,
       now() - interval '40 days'
FROM generate_series(%(first)s::int, %(last)s::int) AS g, generate_series(1, 3) AS s
"""
COMPLETED_OF = "SELECT count(*) FROM executions WHERE workflow_id = %s AND status = 'completed'"
SPAN_AND_WORST_GAP = """
SELECT extract(epoch FROM max(finished_at) - min(created_at)),
       extract(epoch FROM max(gap))
FROM (SELECT created_at, finished_at,
             finished_at - lag(finished_at) OVER (ORDER BY finished_at) AS gap
      FROM executions WHERE workflow_id = %s) AS runs
"""


async def measure(context: Context) -> list[Figure]:
    history = context.scale.large_history
    url = fresh_database(context.server_url, "w10")
    try:
        async with engine_runtime(url) as runtime:
            workspace_id, history_flow = await new_workflow(runtime, ONE_STEP, "w10-history")
            async with worker_processes(
                url,
                WORKERS,
                context.logs,
                TREADLE_WORKER_CONCURRENCY="50",
                TREADLE_RETENTION_INTERVAL_SECONDS="0",  # this workload prunes by itself
            ):
                await _w1_round(runtime, url, workspace_id, 20 * WORKERS)  # warm-up
                fill_seconds = _fill(url, workspace_id, history_flow, history)
                runs = context.scale.throughput_runs
                alone_rate, alone_gap = await _w1_round(runtime, url, workspace_id, runs)
                pruning = RetentionPass(
                    runtime.storage.retention_policies, runtime.storage.pruner, runtime.clock
                )
                started = time.perf_counter()
                task = asyncio.create_task(pruning.run())
                await asyncio.sleep(2.0)  # the pass is well into the history
                during_rate, during_gap = await _w1_round(runtime, url, workspace_id, runs)
                overlapped = not task.done()
                report = await task
                prune_seconds = time.perf_counter() - started
    finally:
        drop(url)
    assert report is not None, "the benchmark's own pass did not get the maintenance turn"
    deleted = report.deleted.get("completed", 0)
    overlap_note = "" if overlapped else "; the pass ended before W1 did"
    return [
        figure("W10 retention", f"history of {history:,} filled", fill_seconds, "s"),
        figure(
            "W10 retention",
            "W1 alone",
            alone_rate,
            "exec/s",
            None,
            f"worst gap {alone_gap * 1000:.0f} ms",
        ),
        figure(
            "W10 retention",
            "W1 while pruning",
            during_rate,
            "exec/s",
            None,
            f"worst gap {during_gap * 1000:.0f} ms{overlap_note}",
        ),
        figure(
            "W10 retention",
            "longest pruning transaction",
            report.longest_batch_seconds * 1000,
            "ms",
            at_most(report.longest_batch_seconds * 1000, 1000),
            f"{report.batches} batches of up to 500",
        ),
        figure(
            "W10 retention",
            "pruned",
            deleted / prune_seconds,
            "exec/s",
            None,
            f"{deleted:,} executions (+ node runs, events) in {prune_seconds:.0f} s",
        ),
    ]


def _fill(url: str, workspace_id: str, workflow_id: str, count: int) -> float:
    """Insert `count` finished executions with their node runs and events; seconds taken."""
    started = time.perf_counter()
    names = {"workspace": workspace_id, "workflow": workflow_id}
    for first in range(1, count + 1, CHUNK):
        span = {**names, "first": first, "last": min(count, first + CHUNK - 1)}
        for statement in (EXECUTIONS, NODE_RUNS, EVENTS):
            _run(url, statement, span)
    for table in ("executions", "node_runs", "events"):
        execute(url, f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def _run(url: str, sql: str, params: dict[str, object]) -> None:
    import psycopg

    from adapters.postgres.urls import libpq_conninfo

    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(sql, params)


async def _w1_round(
    runtime: Runtime, url: str, workspace_id: str, runs: int
) -> tuple[float, float]:
    """W1 on a workflow of its own: (executions/s from first request to last completion,
    the longest time in seconds between two successive completions)."""
    _, workflow_id = await new_workflow(runtime, ONE_STEP, "w10-w1")
    await start_runs(runtime, workspace_id, workflow_id, runs, concurrency=16)
    await poll(
        lambda: int(query_one(url, COMPLETED_OF, (workflow_id,))) >= runs, "W1 to drain", 600
    )
    span, gap = query_one(url, SPAN_AND_WORST_GAP, (workflow_id,))
    return runs / float(span), float(gap or 0.0)
