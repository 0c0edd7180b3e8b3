"""What the chaos tests share: processes started and killed, runs started, rows checked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg

from adapters.postgres import embedded
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.urls import libpq_conninfo
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings
from tests.support.api_stack import ROOT, free_port

SECRET_KEY = "a-chaos-test-secret-key-of-length"
FAST_LEASES = {
    "TREADLE_LEASE_SECONDS": "2",
    "TREADLE_HEARTBEAT_SECONDS": "0.5",
    "TREADLE_POLL_INTERVAL": "0.2",
    "TREADLE_GRACE_SECONDS": "1",
}


def spawn(module: str, url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(ROOT),
        "TREADLE_LOG_LEVEL": "WARNING",
        **env,
    }
    environment.pop("SUPABASE_DB_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@asynccontextmanager
async def runtime_on(url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"database_url": url, "secret_key": SECRET_KEY})
    runtime = await bootstrap(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def new_workflow(runtime: Runtime, definition: dict[str, Any]) -> tuple[str, str]:
    """(workspace id, workflow id)."""
    workspace = await runtime.services.ensure_workspace()(EnsureWorkspace("chaos"))
    workflow = await runtime.engine.create_workflow()(
        CreateWorkflow(workspace.id, f"chaos-{time.time_ns()}", definition)
    )
    return workspace.id, workflow.id


async def admin_token(runtime: Runtime, workspace_id: str) -> str:
    created = await runtime.services.create_token()(CreateToken(workspace_id, "chaos", "admin"))
    return str(created.secret)


async def start_runs(
    runtime: Runtime, workspace_id: str, workflow_id: str, inputs: list[Any]
) -> list[str]:
    start_run = runtime.engine.start_run()
    return [
        (await start_run(StartRun(workspace_id, workflow_id, value))).execution.id
        for value in inputs
    ]


def rows(
    url: str, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        return list(conn.execute(sql, params).fetchall())


def count_completed(url: str, ids: list[str]) -> int:
    found = rows(
        url, "SELECT count(*) FROM executions WHERE id = ANY(%s) AND status = 'completed'", (ids,)
    )
    return int(found[0][0])


def describe_unfinished(url: str, ids: list[str]) -> str:
    """What the executions that did not complete look like: for a failure message."""
    found = rows(
        url,
        """SELECT status, lease_owner IS NOT NULL AS leased,
                  coalesce(wake_at <= clock_timestamp(), true) AS due, count(*)
           FROM executions WHERE id = ANY(%s) AND status <> 'completed'
           GROUP BY 1, 2, 3 ORDER BY 4 DESC""",
        (ids,),
    )
    return "; ".join(f"{st} leased={ls} due={du}: {n}" for st, ls, du, n in found) or "none"


def assert_histories_whole(url: str, ids: list[str]) -> None:
    """Every execution's events run 1..seq with no gap, and each transition happened once."""
    gaps = rows(
        url,
        """SELECT e.id, e.seq, count(v.seq), min(v.seq), max(v.seq)
           FROM executions e JOIN events v ON v.execution_id = e.id
           WHERE e.id = ANY(%s) GROUP BY e.id, e.seq
           HAVING count(v.seq) <> e.seq OR min(v.seq) <> 1 OR max(v.seq) <> e.seq""",
        (ids,),
    )
    assert gaps == [], f"event sequences with gaps: {gaps[:5]}"
    twice = rows(
        url,
        """SELECT execution_id, node_id, type, count(*) FROM events
           WHERE execution_id = ANY(%s)
             AND type IN ('node_succeeded', 'execution_completed', 'execution_created')
           GROUP BY execution_id, node_id, type HAVING count(*) > 1""",
        (ids,),
    )
    assert twice == [], f"transitions recorded twice: {twice[:5]}"


def log_text(folder: Path) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted(folder.glob("*.log")))


class OwnServer:
    """An embedded PostgreSQL on a TCP port this test owns, so it may stop and start it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.handle = EmbeddedPostgres(data_dir, self.port)

    def pg_ctl(self, *arguments: str) -> None:
        # The adapter's own wrapper runs pg_ctl as the server's user (not root).
        tool = embedded._pg_tool("pg_ctl")
        tool(list(arguments), pgdata=self.data_dir, user=embedded._system_user())

    def stop_server(self) -> None:
        self.pg_ctl("-w", "stop", "-m", "fast")

    def start_server(self) -> None:
        embedded._ensure_listening_on_port(self.data_dir, self.port)
