"""Treadle and each peer behind the same small interface, so the workloads are written once.

Treadle runs as in the other benchmarks: runs started through `StartRun` in this process,
the real worker processes (`bench.stamping_worker`, whose network-kind body only stamps the
time). A peer runs as processes of `drivers/driver.py` in the peers' virtual environment.
Completions are read from each system's own tables: the time a job or execution was
recorded as finished, by the server's clock.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from adapters.postgres.embedded import ensure_database
from adapters.postgres.urls import libpq_url
from bench.database import fresh_database
from bench.harness import ROOT, engine_runtime, new_workflow, query_one, start_runs, stop, workers
from bench.peers import environment
from bench.scale import Context, Scale
from bench.workloads.pickup import _latencies

WORKER_CONCURRENCY = "50"


class System(Protocol):
    name: str

    def database(self, server_url: str, label: str) -> str: ...

    async def enqueue(
        self, url: str, count: int, clients: int, length: int
    ) -> tuple[float, float]: ...

    def workers(
        self, url: str, count: int, stamps: Path, logs: Path
    ) -> AbstractAsyncContextManager[object]: ...

    def completions(self, url: str) -> tuple[int, float, float]: ...

    def units(self, count: int, length: int) -> int: ...

    async def pickup(self, url: str, count: int, stamps: Path, logs: Path) -> list[float]: ...


def network_chain(length: int) -> dict[str, Any]:
    """`length` http_request nodes in a row: the lightest kind whose attempt is committed
    before its body runs (the stamping worker's body for it only writes the time)."""
    config = {"url": "http://127.0.0.1:9/unused"}
    nodes = [{"id": f"n{i}", "kind": "http_request", "config": config} for i in range(length)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(length - 1)]
    return {"nodes": nodes, "edges": edges}


def _row(url: str, sql: str) -> tuple[int, float, float]:
    count, first, last = query_one(url, sql)
    return int(count), float(first or 0), float(last or 0)


@dataclass
class Treadle:
    name: str = "treadle"
    _workflows: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)

    def database(self, server_url: str, label: str) -> str:
        return fresh_database(server_url, f"peers_{label}")

    async def enqueue(self, url: str, count: int, clients: int, length: int) -> tuple[float, float]:
        async with engine_runtime(url) as runtime:
            key = (url, length)
            if key not in self._workflows:
                self._workflows[key] = await new_workflow(runtime, network_chain(length), "peers")
            workspace_id, workflow_id = self._workflows[key]
            first = time.time()
            await start_runs(runtime, workspace_id, workflow_id, count, concurrency=clients)
            return first, time.time()

    def workers(
        self, url: str, count: int, stamps: Path, logs: Path
    ) -> AbstractAsyncContextManager[object]:
        return workers(
            url,
            count,
            logs,
            "bench.stamping_worker",
            TREADLE_BENCH_STAMPS=str(stamps),
            TREADLE_WORKER_CONCURRENCY=WORKER_CONCURRENCY,
        )

    def completions(self, url: str) -> tuple[int, float, float]:
        return _row(
            url,
            "SELECT count(*), extract(epoch FROM min(finished_at)),"
            " extract(epoch FROM max(finished_at)) FROM executions WHERE status = 'completed'",
        )

    def units(self, count: int, length: int) -> int:
        return count

    async def pickup(self, url: str, count: int, stamps: Path, logs: Path) -> list[float]:
        context = Context(url, replace(Scale(), pickups=count), logs)
        async with engine_runtime(url) as runtime, self.workers(url, 1, stamps, logs):
            return await _latencies(context, runtime, network_chain(1), stamps)


@dataclass
class Peer:
    name: str
    completed_sql: str
    one_unit_per_chain: bool = False

    def _driver(self, command: str) -> list[str]:
        return [str(environment.PYTHON), str(environment.DRIVER), self.name, command]

    def _run(self, command: str, url: str, *options: str, timeout: float = 600) -> Any:
        arguments = [*self._driver(command), libpq_url(url), *options]
        done = subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} {command}: {done.stderr.strip()[-300:]}")
        lines = done.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def database(self, server_url: str, label: str) -> str:
        url = ensure_database(server_url, f"peer_{self.name}_{label}_{time.time_ns() % 10**12}")
        self._run("setup", url, timeout=120)
        return url

    async def enqueue(self, url: str, count: int, clients: int, length: int) -> tuple[float, float]:
        options = ("--count", str(count), "--clients", str(clients), "--length", str(length))
        result = await asyncio.to_thread(self._run, "enqueue", url, *options)
        return float(result["first"]), float(result["last"])

    @asynccontextmanager
    async def workers(self, url: str, count: int, stamps: Path, logs: Path) -> AsyncIterator[None]:
        processes = [
            subprocess.Popen(
                [
                    *self._driver("worker"),
                    libpq_url(url),
                    "--stamps",
                    str(stamps),
                    "--index",
                    str(index),
                ],
                cwd=ROOT,
                stdout=(logs / f"{self.name}-worker-{index}.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
            for index in range(count)
        ]
        try:
            yield None
        finally:
            for process in processes:
                stop(process, timeout=5)

    def completions(self, url: str) -> tuple[int, float, float]:
        return _row(url, self.completed_sql)

    def units(self, count: int, length: int) -> int:
        return count if self.one_unit_per_chain else count * length

    async def pickup(self, url: str, count: int, stamps: Path, logs: Path) -> list[float]:
        async with self.workers(url, 1, stamps, logs):
            await asyncio.sleep(1)  # the worker's start-up; the first five pickups are dropped
            options = ("--count", str(count), "--stamps", str(stamps))
            result = await asyncio.to_thread(self._run, "pickup", url, *options)
        return [float(value) for value in result["latencies"]]


PEERS: tuple[Peer, ...] = (
    Peer(
        "pgqueuer",
        "SELECT count(*), extract(epoch FROM min(created)), extract(epoch FROM max(created))"
        " FROM pgqueuer_log WHERE status = 'successful'",
    ),
    Peer(
        "procrastinate",
        "SELECT count(*), extract(epoch FROM min(at)), extract(epoch FROM max(at))"
        " FROM procrastinate_events WHERE type = 'succeeded'",
    ),
    Peer(
        "dbos",
        "SELECT count(*), min(updated_at) / 1000.0, max(updated_at) / 1000.0"
        " FROM dbos.workflow_status WHERE status = 'SUCCESS'",
        one_unit_per_chain=True,
    ),
)
