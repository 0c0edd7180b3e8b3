"""Kill -9 during a for-each: workers SIGKILLed at random while one execution runs a child
workflow once per item of a 1,000-item list. Afterwards the execution completed with the
outputs in item order, each item ran in exactly one child execution, and every history is
whole."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.workspaces import EnsureWorkspace
from tests.chaos.support import FAST_LEASES, assert_histories_whole, rows, runtime_on, spawn
from tests.chaos.test_kill_workers import EchoServer, members
from tests.support.api_stack import stop, wait_until
from tests.support.for_each import fan_out

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

ITEMS = 1000
WORKERS = 3
KILL_EVERY = 0.5
KILLS = 8
DEADLINE = 180.0


def child(url: str) -> dict[str, Any]:
    """Echoes its item through an HTTP call (so kills land mid-call) and doubles it."""
    call = {"method": "POST", "url": f"{url}/echo", "json": {"n": "{{ input.n }}"}}
    return {
        "nodes": [
            {"id": "echo", "kind": "http_request", "config": call, "timeout": 10},
            {
                "id": "double",
                "kind": "transform",
                "config": {"output": "{{ nodes.echo.output.body.n * 2 }}"},
            },
        ],
        "edges": [{"from": "echo", "to": "double"}],
    }


def test_sigkilled_workers_run_each_item_exactly_once(chaos_database: str, tmp_path: Path) -> None:
    url = chaos_database
    env = {**FAST_LEASES, "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1"}
    with EchoServer() as server:
        execution_id = asyncio.run(_start(url, server.url))
        workers = [
            spawn("entrypoints.worker", url, tmp_path / f"w{i}.log", **env) for i in range(WORKERS)
        ]
        try:
            kills = _kill_while_running(workers, url, execution_id, tmp_path, env)
            wait_until(lambda: _status(url, execution_id) == "completed", "the parent", DEADLINE)
        finally:
            for worker in workers:
                stop(worker)
    assert kills > 0
    [(output,)] = rows(
        url,
        "SELECT output FROM node_runs WHERE execution_id = %s AND node_id = 'each'",
        (execution_id,),
    )
    assert output == [{"double": n * 2} for n in range(ITEMS)]
    items = rows(
        url,
        "SELECT item_index, status, id FROM executions WHERE parent_execution_id = %s",
        (execution_id,),
    )
    assert sorted(index for index, _, _ in items) == list(range(ITEMS))
    assert {status for _, status, _ in items} == {"completed"}
    assert_histories_whole(url, [execution_id, *(item_id for _, _, item_id in items)])


async def _start(url: str, echo_url: str) -> str:
    async with runtime_on(url) as runtime:
        workspace = await runtime.services.ensure_workspace()(EnsureWorkspace("chaos"))
        name = f"echo-{time.time_ns()}"
        create = runtime.engine.create_workflow()
        await create(CreateWorkflow(workspace.id, name, child(echo_url)))
        flow = await create(
            CreateWorkflow(workspace.id, f"fan-{name}", fan_out(name, parallelism=40))
        )
        started = await runtime.engine.start_run()(
            StartRun(workspace.id, flow.id, {"count": ITEMS})
        )
        return started.execution.id


def _status(url: str, execution_id: str) -> str:
    [(status,)] = rows(url, "SELECT status FROM executions WHERE id = %s", (execution_id,))
    return str(status)


def _kill_while_running(
    workers: list[subprocess.Popen[bytes]],
    url: str,
    execution_id: str,
    logs: Path,
    env: dict[str, str],
) -> int:
    """SIGKILL a random worker every KILL_EVERY seconds, KILLS times or until the parent
    ends, and start a new one in its place."""
    chooser = random.Random(15)
    kills = 0
    while kills < KILLS and _status(url, execution_id) != "completed":
        time.sleep(KILL_EVERY)  # the rhythm of the chaos, not a wait for state
        wait_until(lambda: members(url) == len(workers), "every worker to be up", 60)
        index = chooser.randrange(len(workers))
        workers[index].send_signal(signal.SIGKILL)
        workers[index].wait(10)
        kills += 1
        workers[index] = spawn("entrypoints.worker", url, logs / f"w{index}.log", **env)
    return kills
