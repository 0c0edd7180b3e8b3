"""Concurrency limits under a race: four worker processes, 2,000 executions on 10 keys
with a limit of 2 per key. From when each execution started to when it ended, no key ever
had more than two in progress; the maximum observed per key is printed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.support import (
    FAST_LEASES,
    count_completed,
    new_workflow,
    rows,
    runtime_on,
    spawn,
    start_runs,
)
from tests.chaos.test_kill_workers import EchoServer
from tests.support.api_stack import stop, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

EXECUTIONS = 2000
KEYS = 10
LIMIT = 2
WORKERS = 4
DEADLINE = 240.0


def limited(url: str) -> dict[str, Any]:
    """A call that takes a moment (the echo server pauses): a slot is held meanwhile."""
    call = {"method": "POST", "url": f"{url}/echo", "json": {"key": "{{ input.key }}"}}
    return {
        "nodes": [{"id": "call", "kind": "http_request", "config": call, "timeout": 10}],
        "settings": {"concurrency": {"limit": LIMIT, "key": "input.key"}},
    }


def test_four_workers_never_run_more_than_the_limit_per_key(
    chaos_database: str, tmp_path: Path
) -> None:
    url = chaos_database
    env = {**FAST_LEASES, "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1"}
    with EchoServer() as server:
        ids = asyncio.run(_start(url, limited(server.url)))
        workers = [
            spawn("entrypoints.worker", url, tmp_path / f"w{i}.log", **env) for i in range(WORKERS)
        ]
        try:
            wait_until(lambda: count_completed(url, ids) == EXECUTIONS, "all executions", DEADLINE)
        finally:
            for worker in workers:
                stop(worker)
    found = rows(
        url,
        "SELECT flow_key, started_at, finished_at FROM executions WHERE id = ANY(%s)",
        (ids,),
    )
    most = max_in_progress(found)
    print(f"\nmost in progress at once per key (limit {LIMIT}): {dict(sorted(most.items()))}")
    assert len(most) == KEYS
    assert max(most.values()) <= LIMIT
    assert max(most.values()) == LIMIT  # the limit was reached: the race was real
    assert rows(url, "SELECT sum(running) FROM concurrency_slots") == [(0,)]


def max_in_progress(found: list[tuple[Any, ...]]) -> dict[str, int]:
    """Per key, the most executions between their start and their end at one instant."""
    moments: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for key, started_at, finished_at in found:
        # An end sorts before a start at the same instant: the slot was handed on.
        moments[key] += [(started_at, 1), (finished_at, -1)]
    most: dict[str, int] = {}
    for key, points in moments.items():
        running = peak = 0
        for _, change in sorted(points):
            running += change
            peak = max(peak, running)
        most[key] = peak
    return most


async def _start(url: str, definition: dict[str, Any]) -> list[str]:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, definition)
        inputs = [{"key": f"k{n % KEYS}"} for n in range(EXECUTIONS)]
        return await start_runs(runtime, workspace_id, workflow_id, inputs)
