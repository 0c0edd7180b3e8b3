"""Figures, the table that prints them, and the JSON file that keeps them."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    workload: str
    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""


def at_least(value: float, goal: float) -> tuple[str, bool]:
    return f">= {goal:g}", value >= goal


def at_most(value: float, goal: float) -> tuple[str, bool]:
    return f"<= {goal:g}", value <= goal


def figure(
    workload: str,
    metric: str,
    value: float,
    unit: str,
    goal: tuple[str, bool] | None = None,
    note: str = "",
) -> Figure:
    target, met = goal if goal is not None else ("", None)
    return Figure(workload, metric, value, unit, target, met, note)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def print_table(figures: list[Figure], facts: dict[str, Any], console: Console) -> None:
    title = (
        f"Treadle benchmarks — {facts['cpus']} CPUs, {facts['memory_gb']} GB, "
        f"PostgreSQL {facts['postgres']} (fsync={facts['fsync']}, "
        f"synchronous_commit={facts['synchronous_commit']})"
    )
    table = Table(title=title)
    for column in ("workload", "metric", "value", "unit", "target", "met", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in figures:
        met = "" if row.met is None else ("yes" if row.met else "[red]no[/red]")
        table.add_row(
            row.workload, row.metric, f"{row.value:,.2f}", row.unit, row.target, met, row.note
        )
    console.print(table)


def save(figures: list[Figure], facts: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {"machine": facts, "figures": [asdict(row) for row in figures]}
    path.write_text(json.dumps(document, indent=2))
    return path
