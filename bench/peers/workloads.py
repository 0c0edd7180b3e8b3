"""The workloads, each run the same way against Treadle and every peer.

Rates run from the first enqueue (or, for a backlog, the first completion) to the last
completion recorded in the system's own tables; the pickup latency from the enqueue's
commit, as the client sees it, to the time the step body stamps when it starts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.database import drop
from bench.harness import percentile, poll
from bench.peers.systems import System


@dataclass(frozen=True)
class PeerScale:
    jobs: int = 2_000
    chains: int = 10
    chain_length: int = 40
    pickups: int = 200
    ceiling_seconds: float = 3.0


QUICK = PeerScale(jobs=400, chains=5, pickups=50, ceiling_seconds=1.0)
CLIENTS = 8  # concurrent enqueueing clients while workers run (W1, W2)
WARM_UP = 20  # jobs per worker before a timed run


@dataclass(frozen=True)
class Result:
    workload: str
    metric: str
    unit: str
    higher_is_better: bool
    value: float
    note: str = ""


Workload = Callable[[System, str, PeerScale, Path], Awaitable[list[Result]]]


async def _wait(system: System, url: str, total: int, what: str) -> tuple[int, float, float]:
    await poll(lambda: system.completions(url)[0] >= total, what, 600)
    return system.completions(url)


def _stamps(logs: Path, system: System, label: str) -> Path:
    return logs / f"stamps-{system.name}-{label}-{time.time_ns()}.txt"


async def enqueue_alone(
    system: System, server_url: str, scale: PeerScale, logs: Path
) -> list[Result]:
    url = system.database(server_url, "enqueue")
    try:
        first, last = await system.enqueue(url, scale.jobs, 1, 1)
    finally:
        drop(url)
    rate = scale.jobs / (last - first)
    return [Result("enqueue alone", "1 client", "jobs/s", True, rate)]


async def _throughput(
    system: System, server_url: str, scale: PeerScale, logs: Path, worker_count: int
) -> Result:
    url = system.database(server_url, f"w1_{worker_count}")
    try:
        async with system.workers(url, worker_count, _stamps(logs, system, "w1"), logs):
            warm = WARM_UP * worker_count
            await system.enqueue(url, warm, CLIENTS, 1)
            await _wait(system, url, warm, f"{system.name} warm-up")
            before = system.completions(url)[0]
            first, _ = await system.enqueue(url, scale.jobs, CLIENTS, 1)
            _, _, last = await _wait(system, url, before + scale.jobs, f"{system.name} W1")
    finally:
        drop(url)
    return Result(
        "W1 one-step", f"{worker_count} worker(s)", "exec/s", True, scale.jobs / (last - first)
    )


async def throughput(system: System, server_url: str, scale: PeerScale, logs: Path) -> list[Result]:
    return [await _throughput(system, server_url, scale, logs, count) for count in (1, 4)]


async def _drain(
    system: System, server_url: str, scale: PeerScale, logs: Path, worker_count: int
) -> Result:
    url = system.database(server_url, f"drain_{worker_count}")
    try:
        await system.enqueue(url, scale.jobs, CLIENTS, 1)
        async with system.workers(url, worker_count, _stamps(logs, system, "drain"), logs):
            _, first, last = await _wait(system, url, scale.jobs, f"{system.name} drain")
    finally:
        drop(url)
    rate = (scale.jobs - 1) / (last - first)
    return Result("backlog drain", f"{worker_count} worker(s)", "exec/s", True, rate)


async def drain(system: System, server_url: str, scale: PeerScale, logs: Path) -> list[Result]:
    return [await _drain(system, server_url, scale, logs, count) for count in (1, 4)]


async def chains(system: System, server_url: str, scale: PeerScale, logs: Path) -> list[Result]:
    count, length = scale.chains, scale.chain_length
    url = system.database(server_url, "w2")
    try:
        async with system.workers(url, 1, _stamps(logs, system, "w2"), logs):
            await system.enqueue(url, 2, 2, length)
            await _wait(system, url, system.units(2, length), f"{system.name} warm-up")
            before = system.completions(url)[0]
            first, _ = await system.enqueue(url, count, count, length)
            total = before + system.units(count, length)
            _, _, last = await _wait(system, url, total, f"{system.name} W2")
    finally:
        drop(url)
    note = f"{count} chains x {length} steps, 1 worker"
    return [Result("W2 chain", "steps", "steps/s", True, count * length / (last - first), note)]


async def pickup(system: System, server_url: str, scale: PeerScale, logs: Path) -> list[Result]:
    url = system.database(server_url, "w3")
    try:
        latencies = await system.pickup(url, scale.pickups, _stamps(logs, system, "w3"), logs)
    finally:
        drop(url)
    note = f"{len(latencies)} jobs, idle worker"
    return [
        Result("W3 pickup", "p50", "ms", False, percentile(latencies, 0.5), note),
        Result("W3 pickup", "p99", "ms", False, percentile(latencies, 0.99)),
    ]


WORKLOADS: dict[str, Workload] = {
    "enqueue": enqueue_alone,
    "W1": throughput,
    "drain": drain,
    "W2": chains,
    "W3": pickup,
}
