"""A real API process and a real worker process on a PostgreSQL database, for e2e tests.

`api_and_worker` starts both with a fresh admin token, waits until the API answers
`/readyz`, yields where to reach it, and stops both however the test ends, printing the
tail of their logs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "an-e2e-secret-key-of-some-length"
DEADLINE = 30.0


@dataclass(frozen=True)
class Stack:
    """Where the API listens, an admin token, and the folder of the processes' logs."""

    base_url: str
    token: str
    logs: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline:.0f}s waiting for {what}")


async def bootstrap_token(url: str) -> str:
    settings = Settings.model_validate({"database_url": url, "secret_key": SECRET_KEY})
    runtime = await bootstrap(settings)
    try:
        services = runtime.services
        workspace = await services.ensure_workspace()(EnsureWorkspace("e2e"))
        created = await services.create_token()(CreateToken(workspace.id, "e2e", "admin"))
        return created.secret
    finally:
        await runtime.close()


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process however it is: running, paused (SIGSTOP) or already gone."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextmanager
def api_and_worker(database: str, logs: Path, **settings: str) -> Iterator[Stack]:
    """Both processes on `database` (migrated), with extra `TREADLE_*` settings."""
    token = asyncio.run(bootstrap_token(database))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": SECRET_KEY,
        "TREADLE_API_PORT": str(port),
        "TREADLE_POLL_INTERVAL": "0.2",
        "TREADLE_LOG_LEVEL": "WARNING",
        **settings,
    }
    api = start("entrypoints.api.main", env, logs / "api.log")
    worker = start("entrypoints.worker", env, logs / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base, api), "the API to answer /readyz")
        yield Stack(base, token, logs)
    finally:
        stop(api)
        stop(worker)
        for name in ("api.log", "worker.log"):
            print(f"--- {name} ---\n{(logs / name).read_text(errors='replace')[-2000:]}")


def answers(base: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the API process exited with {process.returncode}; see its log")
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
