"""`python -m bench.startup [--runs N]`: what it costs to start a worker process.

Measures, as medians of N runs (5 by default):

- the interpreter alone (`python -c pass`), the floor under every other figure;
- importing the worker (`python -c "import entrypoints.worker.main"`): wall time, and the
  child's user + system CPU from `getrusage(RUSAGE_CHILDREN)`;
- a real worker (`python -m entrypoints.worker`) from spawn until it is ready, that is
  listening on PostgreSQL (the harness's readiness check): wall time, and the worker's CPU
  at that moment from psutil.

Then prints the 15 modules with the largest cumulative import time under
`python -X importtime`, to show what is left to cut. The database is `DATABASE_URL`, or an
embedded PostgreSQL started for the run. With PYTHONDONTWRITEBYTECODE set and no
`__pycache__` in the tree, every start also compiles the project's own modules; the table
says which case it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from bench.database import benchmark_server, drop, fresh_database
from bench.harness import ROOT, workers

WORKER_MODULE = "entrypoints.worker.main"


def child_run(code: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `python -c code` run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def worker_start(url: str, logs: Path) -> tuple[float, float]:
    """(wall seconds, worker CPU seconds) from spawning a worker until it is listening."""
    started = time.perf_counter()
    async with workers(url, 1, logs) as (process,):
        wall = time.perf_counter() - started
        times = psutil.Process(process.pid).cpu_times()
    return wall, times.user + times.system


def import_costs(module: str, top: int) -> list[tuple[int, int, str]]:
    """The `top` (cumulative µs, self µs, module) of `python -X importtime -c "import module"`."""
    lines = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stderr.splitlines()
    rows = []
    for line in lines:
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            rows.append((int(fields[1]), int(fields[0]), fields[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def medians(samples: list[tuple[float, float]]) -> tuple[str, str]:
    walls, cpus = zip(*samples, strict=True)
    return f"{statistics.median(walls):.3f}", f"{statistics.median(cpus):.3f}"


def measure_workers(runs: int) -> list[tuple[float, float]]:
    with benchmark_server() as (server_url, _embedded):
        url = fresh_database(server_url, "startup")
        try:
            with tempfile.TemporaryDirectory(prefix="treadle-startup-") as logs:
                return [asyncio.run(worker_start(url, Path(logs))) for _ in range(runs)]
        finally:
            drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    runs = parser.parse_args().runs
    console = Console()
    rows = {
        "python -c pass": [child_run("pass") for _ in range(runs)],
        f"import {WORKER_MODULE}": [child_run(f"import {WORKER_MODULE}") for _ in range(runs)],
        "worker spawn → ready (listening)": measure_workers(runs),
    }
    table = Table(title=f"Worker start-up, median of {runs} runs")
    table.caption = "bytecode caches " + (
        "not written (PYTHONDONTWRITEBYTECODE)" if sys.flags.dont_write_bytecode else "written"
    )
    table.add_column("measurement")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    for name, samples in rows.items():
        table.add_row(name, *medians(samples))
    console.print(table)

    costs = Table(title=f"Largest cumulative import times: import {WORKER_MODULE}")
    costs.add_column("module")
    costs.add_column("cumulative ms", justify="right")
    costs.add_column("self ms", justify="right")
    for cumulative, own, module in import_costs(WORKER_MODULE, 15):
        costs.add_row(module, f"{cumulative / 1000:.1f}", f"{own / 1000:.1f}")
    console.print(costs)


if __name__ == "__main__":
    main()
