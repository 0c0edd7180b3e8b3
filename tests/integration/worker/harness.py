"""A harness for the worker integration tests.

It owns one fresh, migrated database; starts and stops real worker processes
(`python -m entrypoints.worker`) on it with their stderr captured to files; creates
workflows, runs, signals, secrets and schedules through the use cases; and reads back
what the workers stored. Waiting is always for a condition, under a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from adapters.postgres.urls import libpq_conninfo
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.schedules import CreateSchedule, UpdateSchedule
from application.use_cases.secrets import PutSecret
from application.use_cases.start_run import StartRun
from entrypoints.api.services import ApiServices
from entrypoints.runtime import Runtime

ROOT = Path(__file__).resolve().parents[3]
LOOPBACK_ONLY = Path(__file__).resolve().parent / "loopback_only"
SECRET_KEY = "worker-integration-tests-secret-key"
DEADLINE = 20.0
TERMINAL = ("completed", "failed", "cancelled", "timed_out")

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually(condition: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """Poll `condition` until it returns something truthy, and return that."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline} s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class WorkerProcess:
    """One worker process; its stderr (and stdout) goes to `log_path`."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def lines_with(self, message: str) -> list[str]:
        """Log lines whose message is `message` (messages with spaces are quoted)."""
        quoted = f'"{message}"' if " " in message else f" {message} "
        return [line for line in self.log().splitlines() if quoted in line]

    async def started(self) -> str:
        """Wait for the `worker started` line and return it."""

        def line() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log()}")
            found = self.lines_with("worker started")
            return found[0] if found else None

        return await eventually(line, f"{self.name} to start")

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    async def exited(self, deadline: float = DEADLINE) -> int:
        await eventually(lambda: self.process.poll() is not None, f"{self.name} to exit", deadline)
        return int(self.process.returncode)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


class Harness:
    """Everything a worker test needs around one database."""

    def __init__(
        self,
        database_url: str,
        runtime: Runtime,
        services: ApiServices,
        workspace_id: str,
        logs: Path,
    ) -> None:
        self.database_url = database_url
        self.runtime = runtime
        self.services = services
        self.workspace_id = workspace_id
        self.logs = logs
        self.workers: list[WorkerProcess] = []
        self.connect_log = logs / "non-loopback-connections.txt"
        self._db = psycopg.connect(libpq_conninfo(database_url), autocommit=True)

    # --- worker processes ---------------------------------------------------------------

    def worker_env(self, **overrides: str | None) -> dict[str, str]:
        """The environment of a worker: fast polling, 127.0.0.1 allowed; None unsets a name."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("TREADLE_") and name not in ("DATABASE_URL", "SUPABASE_DB_URL")
        }
        env.update(
            DATABASE_URL=self.database_url,
            SECRET_KEY=SECRET_KEY,
            PYTHONPATH=str(LOOPBACK_ONLY),
            TREADLE_TEST_CONNECT_LOG=str(self.connect_log),
            TREADLE_HTTP_ALLOWED_HOSTS="127.0.0.1",
            TREADLE_POLL_INTERVAL="0.2",
            TREADLE_LEASE_SECONDS="10",
            TREADLE_HEARTBEAT_SECONDS="2",
            TREADLE_GRACE_SECONDS="5",
            TREADLE_WORKER_CONCURRENCY="4",
        )
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def start_worker(self, **env: str | None) -> WorkerProcess:
        name = f"worker-{len(self.workers) + 1}"
        log_path = self.logs / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.worker"],
                cwd=ROOT,
                env=self.worker_env(**env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(name, process, log_path)
        self.workers.append(worker)
        return worker

    async def start_workers(self, count: int = 1, /, **env: str | None) -> list[WorkerProcess]:
        """Start `count` workers at once and wait until each has logged that it started."""
        workers = [self.start_worker(**env) for _ in range(count)]
        for worker in workers:
            await worker.started()
        return workers

    def non_loopback_connections(self) -> list[str]:
        """Addresses off this machine some worker tried to connect to (refused by the fail-safe)."""
        if not self.connect_log.exists():
            return []
        return self.connect_log.read_text(encoding="utf-8").split()

    # --- use cases ----------------------------------------------------------------------

    async def create_workflow(self, definition: dict[str, Any]) -> str:
        command = CreateWorkflow(self.workspace_id, f"wf-{uuid.uuid4().hex[:8]}", definition)
        return (await self.runtime.engine.create_workflow()(command)).id

    async def start_run(self, workflow_id: str, input: Any = None) -> str:
        started = await self.runtime.engine.start_run()(
            StartRun(self.workspace_id, workflow_id, input)
        )
        return started.execution.id

    async def run(self, definition: dict[str, Any], input: Any = None) -> str:
        return await self.start_run(await self.create_workflow(definition), input)

    async def deliver_signal(self, execution_id: str, name: str, payload: Any) -> None:
        command = DeliverSignal(self.workspace_id, execution_id, name, payload)
        await self.runtime.engine.deliver_signal()(command)

    async def put_secret(self, name: str, value: str) -> None:
        await self.services.create_secret()(PutSecret(self.workspace_id, name, value))

    async def create_schedule(self, workflow_id: str, cron: str, input: Any = None) -> str:
        command = CreateSchedule(self.workspace_id, workflow_id, cron, input=input)
        return (await self.services.create_schedule()(command)).id

    async def disable_schedule(self, schedule_id: str) -> None:
        command = UpdateSchedule(self.workspace_id, schedule_id, enabled=False)
        await self.services.update_schedule()(command)

    # --- what the workers stored --------------------------------------------------------

    def query(self, statement: str, *params: Any) -> list[dict[str, Any]]:
        with self._db.cursor(row_factory=dict_row) as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())

    def execution(self, execution_id: str) -> dict[str, Any]:
        return self.query("SELECT * FROM executions WHERE id = %s", execution_id)[0]

    def node_runs(self, execution_id: str) -> dict[str, dict[str, Any]]:
        rows = self.query("SELECT * FROM node_runs WHERE execution_id = %s", execution_id)
        return {row["node_id"]: row for row in rows}

    def events(self, execution_id: str, *types: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM events WHERE execution_id = %s ORDER BY seq", execution_id)
        return [row for row in rows if not types or row["type"] in types]

    async def status_becomes(
        self, execution_id: str, *statuses: str, deadline: float = DEADLINE
    ) -> dict[str, Any]:
        wanted = statuses or TERMINAL

        def reached() -> dict[str, Any] | None:
            row = self.execution(execution_id)
            return row if row["status"] in wanted else None

        return await eventually(reached, f"{execution_id} to become {'/'.join(wanted)}", deadline)

    async def node_becomes(
        self, execution_id: str, node_id: str, *statuses: str, deadline: float = DEADLINE
    ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            row = self.node_runs(execution_id).get(node_id)
            return row if row is not None and row["status"] in statuses else None

        what = f"node {node_id} of {execution_id} to become {'/'.join(statuses)}"
        return await eventually(reached, what, deadline)

    # --- teardown -----------------------------------------------------------------------

    def close(self) -> None:
        """Kill what is still running (the database is dropped next) and show the logs."""
        for worker in self.workers:
            worker.kill()
            print(f"--- {worker.name} (exit {worker.process.returncode}) ---")
            print(worker.log()[-4000:])
        self._db.close()
