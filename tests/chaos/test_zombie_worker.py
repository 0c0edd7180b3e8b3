"""Zombie worker: paused (SIGSTOP) past its lease mid-node, another worker takes over and
finishes; resumed (SIGCONT), the zombie writes nothing: no event, no attempt, no state, and
logs one warning that it lost the lease. Its session stayed alive, so its membership lock
did too: the takeover waited for the lease."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.support import (
    FAST_LEASES,
    new_workflow,
    rows,
    runtime_on,
    spawn,
    start_runs,
)
from tests.support.api_stack import stop, wait_until
from tests.support.fake_servers import ProgrammableServer

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]


def slow_call(url: str) -> dict[str, Any]:
    config = {"url": f"{url}/slow?seconds=3"}
    return {"nodes": [{"id": "call", "kind": "http_request", "config": config}], "edges": []}


QUICK: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}
LOST = "lost the lease"


def snapshot(url: str, execution_id: str) -> tuple[Any, ...]:
    return (
        rows(
            url,
            "SELECT seq, type, node_id, attempt FROM events WHERE execution_id = %s ORDER BY seq",
            (execution_id,),
        ),
        rows(
            url,
            "SELECT node_id, status, attempt, output FROM node_runs WHERE execution_id = %s",
            (execution_id,),
        ),
        rows(
            url,
            "SELECT status, seq, lease_token, output FROM executions WHERE id = %s",
            (execution_id,),
        ),
    )


def status_of(url: str, execution_id: str) -> str:
    return str(rows(url, "SELECT status FROM executions WHERE id = %s", (execution_id,))[0][0])


def test_a_resumed_zombie_worker_writes_nothing(chaos_database: str, tmp_path: Path) -> None:
    url = chaos_database
    env = {**FAST_LEASES, "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1"}
    with ProgrammableServer() as server:
        execution_id = asyncio.run(_start(url, slow_call(server.url)))
        zombie = spawn("entrypoints.worker", url, tmp_path / "zombie.log", **env)
        rescuer = None
        try:
            wait_until(lambda: len(server.requests) == 1, "the zombie's request", 30)
            zombie.send_signal(signal.SIGSTOP)
            rescuer = spawn("entrypoints.worker", url, tmp_path / "rescuer.log", **env)
            wait_until(lambda: status_of(url, execution_id) == "completed", "the takeover", 60)
            stop(rescuer)
            before = snapshot(url, execution_id)
            zombie.send_signal(signal.SIGCONT)
            sentinel_id = asyncio.run(_start(url, QUICK))
            # Only the zombie is left to run the sentinel: once it completes, the zombie has
            # long since woken up and tried to finish its own attempt.
            wait_until(lambda: status_of(url, sentinel_id) == "completed", "the sentinel", 60)
            after = snapshot(url, execution_id)
        finally:
            stop(zombie)
            if rescuer is not None:
                stop(rescuer)
    assert after == before
    lost = [line for line in (tmp_path / "zombie.log").read_text().splitlines() if LOST in line]
    assert len(lost) == 1 and execution_id in lost[0], lost
    events = [event[1] for event in after[0]]
    assert events.count("node_interrupted") == 1 and events.count("node_succeeded") == 1
    assert len(server.requests) >= 2  # the zombie's call, then the rescuer's


async def _start(url: str, definition: dict[str, Any]) -> str:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, definition)
        (execution_id,) = await start_runs(runtime, workspace_id, workflow_id, [None])
    return execution_id
