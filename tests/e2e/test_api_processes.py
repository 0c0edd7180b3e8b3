"""`TREADLE_API_WORKERS=2`: two API processes on one port, each with its own runtime.

Runs started through either are visible through both; every process listens for events, so
live streams work whichever process a client reaches (connections are spread by the
kernel, so which process serves which stream is not chosen here); SIGTERM stops them all;
and if the supervisor is killed outright, its API processes stop by themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from adapters.postgres.migrate import upgrade
from adapters.postgres.urls import libpq_conninfo
from entrypoints.api.controllers.streams import KEEPALIVE_SECONDS
from tests.api.workflows import WAITS_FOR_GO
from tests.e2e.test_api_postgres import create, run, status_becomes
from tests.support.api_stack import (
    DEADLINE,
    SECRET_KEY,
    bootstrap_token,
    free_port,
    start,
    stop,
    wait_until,
)
from tests.support.databases import drop_database, fresh_database_url

pytestmark = [pytest.mark.e2e]
PROCESSES = 2


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_api_processes")
    upgrade(url)
    yield url
    drop_database(url)


def environment(database: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": SECRET_KEY,
        "TREADLE_API_PORT": str(port),
        "TREADLE_API_WORKERS": str(PROCESSES),
        "TREADLE_POLL_INTERVAL": "0.2",
        "TREADLE_LOG_LEVEL": "WARNING",
    }


def launch(database: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    supervisor = start("entrypoints.api.main", environment(database, port), log)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _serving(base, supervisor), "the API processes to answer /readyz")
    wait_until(lambda: len(api_processes(supervisor.pid)) == PROCESSES, "both API processes")
    return supervisor, base


def _serving(base: str, supervisor: subprocess.Popen[bytes]) -> bool:
    if supervisor.poll() is not None:
        raise AssertionError(f"the supervisor exited with {supervisor.returncode}")
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def api_processes(supervisor_pid: int) -> list[int]:
    """The supervisor's live API processes (not multiprocessing's resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError):
            continue
        if parent == supervisor_pid and b"spawn_main" in command:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def listening_connections(database: str) -> int:
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
    )
    with psycopg.connect(libpq_conninfo(database), autocommit=True) as connection:
        row = connection.execute(query).fetchone()
    return int(row[0]) if row else 0


async def watch_to_end(client: httpx.AsyncClient, execution_id: str, opened: asyncio.Event) -> str:
    """The type of the last event on the execution's live stream; `opened` is set once the
    stream has replayed what happened before it was opened."""
    last = ""
    async with client.stream("GET", f"/api/v1/executions/{execution_id}/stream") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"type"' in line:
                last = json.loads(line.partition(":")[2])["type"]
                opened.set()
            elif line.startswith("event:") and line.partition(":")[2].strip() == "end":
                return last
    raise AssertionError("the stream closed before its end event")


async def test_two_processes_share_the_port_and_each_serves_live_streams(
    database: str, tmp_path: Path
) -> None:
    token = await bootstrap_token(database)
    worker = start("entrypoints.worker", environment(database, 0), tmp_path / "worker.log")
    supervisor, base = launch(database, tmp_path / "api.log")
    headers = {"Authorization": f"Bearer {token}"}
    children = api_processes(supervisor.pid)
    # Fresh connections are spread over the processes by the kernel.
    clients = [
        httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) for _ in range(6)
    ]
    try:
        # Each API process listens, and so does the worker, which may still be starting.
        wait_until(
            lambda: listening_connections(database) == PROCESSES + 1,
            f"{PROCESSES} API processes and the worker to listen",
        )
        workflow_id = await create(clients[0], WAITS_FOR_GO)
        ids = [await run(client, workflow_id) for client in clients]
        for client, execution_id in zip(clients, ids, strict=True):
            await status_becomes(client, execution_id, "waiting")
        opened = [asyncio.Event() for _ in ids]
        async with asyncio.timeout(DEADLINE):
            watching = [
                asyncio.create_task(watch_to_end(client, execution_id, ready))
                for client, execution_id, ready in zip(clients[::-1], ids, opened, strict=True)
            ]
            await asyncio.gather(*(ready.wait() for ready in opened))
            for client, execution_id in zip(clients, ids, strict=True):
                sent = await client.post(f"/api/v1/executions/{execution_id}/signals/go", json=1)
                assert sent.status_code == 202, sent.text
            # Completion happened after the streams opened, and sooner than a stream's
            # keep-alive re-read: it reached them through each process's listener.
            async with asyncio.timeout(KEEPALIVE_SECONDS / 2):
                ended = await asyncio.gather(*watching)
            assert ended == ["execution_completed"] * len(ids)
    finally:
        for client in clients:
            await client.aclose()
        stop(supervisor)
        stop(worker)
    assert supervisor.returncode == 0
    assert len(children) == PROCESSES and not any(alive(pid) for pid in children)


def test_the_api_processes_stop_when_their_supervisor_is_killed(
    database: str, tmp_path: Path
) -> None:
    supervisor, _ = launch(database, tmp_path / "api.log")
    children = api_processes(supervisor.pid)
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(DEADLINE)
    wait_until(lambda: not any(alive(pid) for pid in children), "orphaned API processes to stop")


def established_on(pid: int, port: int) -> int:
    """TCP connections the process has accepted on `port`."""
    return sum(
        1
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.status == psutil.CONN_ESTABLISHED
        and connection.laddr
        and connection.laddr.port == port
    )


def listening_sockets(pid: int, port: int) -> set[str]:
    """The kernel objects (`socket:[inode]`) the process listens on `port` with."""
    found = set()
    for connection in psutil.Process(pid).net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            found.add(os.readlink(f"/proc/{pid}/fd/{connection.fd}"))
    return found


def test_kept_alive_connections_are_spread_over_the_processes(
    database: str, tmp_path: Path
) -> None:
    supervisor, base = launch(database, tmp_path / "api.log")
    port = int(base.rsplit(":", 1)[1])
    clients = [httpx.Client(base_url=base) for _ in range(16)]
    try:
        for client in clients:  # each opens its own connection and keeps it
            assert client.get("/healthz").status_code == 200
        children = api_processes(supervisor.pid)
        wait_until(
            lambda: sum(established_on(pid, port) for pid in children) == len(clients),
            "every connection to be accepted",
        )
        assert all(established_on(pid, port) > 0 for pid in children)
        # Each process listens on a socket of its own, which the kernel balances connections
        # over; with one shared socket, whichever process is idle first accepts, and under
        # load kept-alive connections pile up on one process.
        listening = [listening_sockets(pid, port) for pid in children]
        assert all(len(sockets) == 1 for sockets in listening)
        assert len(set().union(*listening)) == len(children)
    finally:
        for client in clients:
            client.close()
        stop(supervisor)
