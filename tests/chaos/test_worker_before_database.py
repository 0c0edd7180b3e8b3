"""A worker started while PostgreSQL is down waits for it, one log line per attempt, and
runs the work once the database is back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.support import (
    FAST_LEASES,
    OwnServer,
    count_completed,
    new_workflow,
    runtime_on,
    spawn,
    start_runs,
)
from tests.support.api_stack import stop, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

QUICK: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}
UNAVAILABLE = "database unavailable"


def attempts_logged(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if UNAVAILABLE in line]


def test_a_worker_started_while_the_database_is_down_waits_and_then_works(
    own_server: tuple[OwnServer, str], tmp_path: Path
) -> None:
    server, url = own_server
    ids = asyncio.run(_start_one_run(url))
    log = tmp_path / "worker.log"
    server.stop_server()
    worker = spawn("entrypoints.worker", url, log, **FAST_LEASES)
    try:
        wait_until(lambda: len(attempts_logged(log)) >= 3, "three attempts to connect", 30)
        assert worker.poll() is None, log.read_text(errors="replace")
        while_down = log.read_text(errors="replace").splitlines()
        server.start_server()
        wait_until(lambda: count_completed(url, ids) == 1, "the run to complete", 60)
    finally:
        stop(worker)
    assert "Traceback" not in log.read_text(errors="replace")
    assert while_down == attempts_logged(log)[: len(while_down)]  # nothing but one per attempt
    assert all("retry_in_seconds" in line for line in while_down)


async def _start_one_run(url: str) -> list[str]:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, QUICK)
        return await start_runs(runtime, workspace_id, workflow_id, [None])
