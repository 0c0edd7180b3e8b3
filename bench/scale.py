"""How big each workload is: the full run, or `--quick` for a smoke run of a minute or two."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from domain.validation import MAX_NODES


@dataclass(frozen=True)
class Scale:
    throughput_runs: int = 2_000
    chain_executions: int = 20
    chain_length: int = 40
    pickups: int = 200
    small_history: int = 10_000
    large_history: int = 1_000_000
    claim_samples: int = 300
    api_seconds: float = 10.0
    api_rate: int = 200
    timers: int = 10_000
    ceiling_seconds: float = 3.0
    largest_chain: int = MAX_NODES
    for_each_items: int = 1_000
    bulk_runs: int = 20_000


QUICK = Scale(
    throughput_runs=400,
    chain_executions=10,
    pickups=50,
    large_history=200_000,
    claim_samples=100,
    api_seconds=3.0,
    timers=2_000,
    ceiling_seconds=1.0,
    for_each_items=100,
    bulk_runs=4_000,
)


@dataclass(frozen=True)
class Context:
    server_url: str
    scale: Scale
    logs: Path
