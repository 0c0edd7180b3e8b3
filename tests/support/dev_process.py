"""`treadle dev` as a real process in a clean copy of the repository, for end-to-end tests.

The copy holds the files a fresh clone would (tracked files plus new, not ignored ones,
so uncommitted work is tested too). It runs on this virtualenv's Python rather than
through `make dev`, which would spend a minute installing a second virtualenv; the
Makefile's `dev` target only adds that install step. Ports are free ones, so the tests
never collide with a `make dev` running on the same machine.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import psutil
import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 120
STOP_DEADLINE_SECONDS = 60
POLL_SECONDS = 0.2
T = TypeVar("T")


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


def dev_environment() -> dict[str, str]:
    """This environment without the database settings `treadle dev` sets for itself."""
    return {k: v for k, v in os.environ.items() if "DATABASE_URL" not in k}


@dataclass
class DevRun:
    """One `treadle dev` process and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        pattern = r"^(?:started|restarted) .* \(pid (\d+)\)$"
        return [int(pid) for pid in re.findall(pattern, self.output(), re.M)]

    def printed(self, pattern: str) -> str | None:
        found = re.search(pattern, self.output(), re.M)
        return found.group(1) if found else None

    def wait_until_ready(self) -> tuple[str, str]:
        """The console URL and the admin token, once `treadle dev` printed them."""

        def ready() -> tuple[str, str] | None:
            if self.process.poll() is not None:
                pytest.fail(f"treadle dev exited early:\n{self.output()}")
            url, token = self.printed(r"^Console: (\S+)$"), self.printed(r"^Token:\s+(trd_\S+)")
            return (url.rstrip("/"), token) if url and token else None

        return poll(ready, START_DEADLINE_SECONDS, "the console URL and the token")

    def stop(self) -> int:
        """Ctrl-C, and its exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(STOP_DEADLINE_SECONDS)


class DevLauncher:
    """Starts `treadle dev` processes in `workspace` and stops whichever is left on exit."""

    def __init__(self, workspace: Path, api_port: int, db_port: int) -> None:
        self.workspace = workspace
        self.api_port = api_port
        self.db_port = db_port
        self.started: list[DevRun] = []

    def start(self, label: str, env: dict[str, str] | None = None) -> DevRun:
        log = self.workspace / f"dev-{label}.log"
        args = ["--port", str(self.api_port), "--db-port", str(self.db_port)]
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "dev", *args],
            cwd=self.workspace,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env=env or dev_environment(),
        )
        self.started.append(DevRun(process, log))
        return self.started[-1]

    def __enter__(self) -> DevLauncher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for run in self.started:  # a failed test still leaves nothing running
            if run.process.poll() is None:
                try:
                    run.stop()
                except subprocess.TimeoutExpired:
                    run.process.kill()
                    run.process.wait()


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
        except psutil.Error:
            continue
        if "postgres" in cmdline and str(data_dir) in cmdline:
            found.append(process)
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped is not)."""
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    return bool(status != psutil.STATUS_ZOMBIE)


def nothing_left(pids: list[int], data_dir: Path) -> None:
    """Wait until none of `pids` runs any more and no PostgreSQL serves `data_dir`."""
    poll(lambda: not any(running(pid) for pid in pids), 20, "the children to exit")
    poll(lambda: not postgres_processes(data_dir), 20, "PostgreSQL to stop")
