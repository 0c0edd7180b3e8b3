"""`treadle dev` in a clean copy of the repository: start, run a workflow, Ctrl-C, restart.

The copy holds the files a fresh clone would (tracked files plus new, not ignored ones,
so uncommitted work is tested too). It runs on this virtualenv's Python rather than
through `make dev`, which would spend a minute installing a second virtualenv; the
Makefile's `dev` target only adds that install step. Ports are free ones, so the test
never collides with a `make dev` running on the same machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 120
RUN_DEADLINE_SECONDS = 60
STOP_DEADLINE_SECONDS = 60
POLL_SECONDS = 0.2
T = TypeVar("T")

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


def poll(condition: Callable[[], T | None], deadline_seconds: float, what: str) -> T:
    """The first truthy value of `condition()`, or fail after the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(POLL_SECONDS)
    pytest.fail(f"timed out after {deadline_seconds}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_copy(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPOSITORY_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@dataclass
class DevRun:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"^started .* \(pid (\d+)\)$", self.output(), re.M)]

    def printed(self, pattern: str) -> str | None:
        found = re.search(pattern, self.output(), re.M)
        return found.group(1) if found else None


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return clean_copy(tmp_path / "treadle")


@pytest.fixture
def ports() -> dict[str, int]:
    return {"api": free_port(), "db": free_port()}


@pytest.fixture
def start_dev(workspace: Path, ports: dict[str, int]) -> Iterator[Callable[[str], DevRun]]:
    started: list[DevRun] = []

    def start(label: str) -> DevRun:
        log = workspace / f"dev-{label}.log"
        args = ["--port", str(ports["api"]), "--db-port", str(ports["db"])]
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "dev", *args],
            cwd=workspace,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if "DATABASE_URL" not in k},
        )
        started.append(DevRun(process, log))
        return started[-1]

    yield start
    for run in started:  # a failed test still leaves nothing running
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            try:
                run.process.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                run.process.kill()


def wait_until_ready(run: DevRun) -> tuple[str, str]:
    def ready() -> tuple[str, str] | None:
        if run.process.poll() is not None:
            pytest.fail(f"treadle dev exited early:\n{run.output()}")
        url, token = run.printed(r"^Console: (\S+)$"), run.printed(r"^Token:\s+(trd_\S+)")
        return (url.rstrip("/"), token) if url and token else None

    return poll(ready, START_DEADLINE_SECONDS, "the console URL and the token")


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


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "postgres" in cmdline and str(data_dir) in cmdline:
            found.append(process)
    return found


def stop(run: DevRun) -> None:
    run.process.send_signal(signal.SIGINT)
    code = run.process.wait(STOP_DEADLINE_SECONDS)
    assert code == 0, run.output()


def assert_nothing_left(run: DevRun, data_dir: Path) -> None:
    pids = run.child_pids()
    assert len(pids) == 2, run.output()  # the API and one worker
    poll(lambda: not any(psutil.pid_exists(pid) for pid in pids), 10, "the children to exit")
    poll(lambda: not postgres_processes(data_dir), 20, "PostgreSQL to stop")


def test_dev_runs_a_workflow_stops_on_sigint_and_finds_its_data_again(
    workspace: Path, start_dev: Callable[[str], DevRun]
) -> None:
    data_dir = (workspace / ".treadle" / "postgres").resolve()
    first = start_dev("first")
    base, token = wait_until_ready(first)

    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    workflow_id, output = run_workflow(base, token)
    assert output == {"greet": "hi x"}
    assert (workspace / ".treadle" / "admin-token").stat().st_mode & 0o777 == 0o600
    stop(first)
    assert_nothing_left(first, data_dir)

    second = start_dev("second")
    base, same_token = wait_until_ready(second)
    assert same_token == token
    headers = {"Authorization": f"Bearer {token}"}
    found = httpx.get(f"{base}/api/v1/workflows/{workflow_id}", headers=headers, timeout=10)
    assert found.status_code == 200 and found.json()["name"] == "dev-smoke"
    stop(second)
    assert_nothing_left(second, data_dir)


def test_a_child_that_dies_stops_everything_with_a_non_zero_exit(
    workspace: Path, start_dev: Callable[[str], DevRun]
) -> None:
    data_dir = (workspace / ".treadle" / "postgres").resolve()
    run = start_dev("crash")
    wait_until_ready(run)
    worker_pid = int(run.printed(r"^started worker 1 \(pid (\d+)\)$") or 0)

    os.kill(worker_pid, signal.SIGKILL)

    assert run.process.wait(STOP_DEADLINE_SECONDS) == 1
    assert f"the worker 1 (pid {worker_pid}) was killed by SIGKILL" in run.output()
    assert_nothing_left(run, data_dir)
