"""`treadle dev`: the whole engine on one machine, supervised by one process.

Starts (or adopts) the embedded PostgreSQL under `.treadle/postgres` on 127.0.0.1,
migrates it, makes sure a `default` workspace and an admin token exist, then runs the
API (with the console) and N workers as child processes. Ctrl-C or SIGTERM stops the
children gracefully (SIGTERM, then SIGKILL after a deadline) and then the database. A
child that dies on its own stops everything with a non-zero exit, naming the child. A
second Ctrl-C kills the children at once instead of waiting for them.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only this
supervisor, which then stops the children in order: a worker that got the terminal's
SIGINT and then our SIGTERM would take the second signal as "exit now" and skip its
graceful drain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from adapters.postgres.migrate import upgrade
from entrypoints.dev_setup import DevFiles, bootstrap_admin_token, wait_until_healthy
from entrypoints.dev_setup import load_or_create_secret_key as load_secret_key

DEFAULT_DB_PORT = 54329
DEV_DATABASE = "treadle"
_CHILD_CHECK_SECONDS = 0.2

Say = Callable[[str], None]


class DevError(Exception):
    """`treadle dev` cannot go on; the message says why in one line."""


@dataclass(frozen=True)
class DevOptions:
    root: Path = Path(".treadle")
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    db_port: int = DEFAULT_DB_PORT
    stop_timeout: float = 15.0
    ready_timeout: float = 60.0
    worker_grace_seconds: float = 5.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


class Children:
    """The supervised child processes, started and stopped as a group."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.running: list[Child] = []

    def start(self, name: str, module_args: list[str]) -> Child:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args], env=self._env, process_group=0
        )
        child = Child(name, process)
        self.running.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((child for child in self.running if child.process.poll() is not None), None)

    def stop(self, timeout: float, hurry: Callable[[], bool]) -> None:
        """SIGTERM every child and wait up to `timeout` seconds (less once `hurry()` says so),
        then SIGKILL whichever is left."""
        for child in self.running:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive() and time.monotonic() < deadline and not hurry():
            time.sleep(_CHILD_CHECK_SECONDS)
        for child in self._alive():
            child.process.kill()
        for child in self.running:
            child.process.wait()

    def _alive(self) -> list[Child]:
        return [child for child in self.running if child.process.poll() is None]


class StopRequests:
    """Signals to stop, counted: the first stops gracefully, the second skips the waiting,
    the third interrupts whatever is running (a step that hangs)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.count = 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.event.set()
        if self.count >= 3:
            raise KeyboardInterrupt

    def hurry(self) -> bool:
        return self.count >= 2

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def child_environment(database_url: str, secret_key: str, options: DevOptions) -> dict[str, str]:
    env = dict(os.environ)
    for alias in ("SUPABASE_DB_URL", "TREADLE_DATABASE_URL", "TREADLE_SECRET_KEY"):
        env.pop(alias, None)
    env["DATABASE_URL"] = database_url
    env["SECRET_KEY"] = secret_key
    env.setdefault("TREADLE_GRACE_SECONDS", str(options.worker_grace_seconds))
    return env


def start_database(options: DevOptions, say: Say) -> tuple[EmbeddedPostgres, str]:
    """Start or adopt the server, create the dev database and migrate it; return its URL."""
    server = EmbeddedPostgres(options.root / "postgres", port=options.db_port)
    try:
        server_url = server.start()
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DevError(f"PostgreSQL did not start: {first_line}") from error
    say(f"PostgreSQL on 127.0.0.1:{options.db_port}, data in {server.data_dir}")
    try:
        url = ensure_database(server_url, DEV_DATABASE)
        upgrade(url)
    except BaseException:
        server.stop()
        raise
    return server, url


def run_dev(options: DevOptions, say: Say = print) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until a child dies (exit 1)."""
    stop = StopRequests()
    with stop.installed():
        files = DevFiles(options.root)
        secret_key = load_secret_key(files)
        server, url = start_database(options, say)
        children = Children(child_environment(url, secret_key, options))
        try:
            if stop.event.is_set():
                return 0
            return _supervise(options, files, url, secret_key, children, stop, say)
        finally:
            children.stop(options.stop_timeout, stop.hurry)
            server.stop()
            say("stopped: every process and the database")


def _supervise(
    options: DevOptions,
    files: DevFiles,
    url: str,
    secret_key: str,
    children: Children,
    stop: StopRequests,
    say: Say,
) -> int:
    token = bootstrap_admin_token(url, secret_key, files)
    api = children.start(
        "api",
        ["entrypoints.cli", "api", "--host", options.host, "--port", str(options.port)],
    )
    say(f"started api (pid {api.pid})")
    for number in range(1, options.workers + 1):
        worker = children.start(f"worker {number}", ["entrypoints.worker"])
        say(f"started worker {number} (pid {worker.pid})")
    base = f"http://{options.host}:{options.port}"
    if not wait_until_healthy(base, options.ready_timeout, lambda: _stopping(children, stop)):
        return _ended_early(children, stop, say)
    say(f"Console: {base}/")
    say(f"Token:   {token}  (also in {files.admin_token})")
    say(f"CLI:     export DATABASE_URL='{url}' SECRET_KEY=\"$(cat {files.secret_key})\"")
    say("Press Ctrl-C to stop.")
    while not stop.event.wait(_CHILD_CHECK_SECONDS):
        if children.first_exited() is not None:
            return _ended_early(children, stop, say)
    say("stopping...")
    return 0


def _stopping(children: Children, stop: StopRequests) -> bool:
    return stop.event.is_set() or children.first_exited() is not None


def _how_it_ended(child: Child) -> str:
    code = child.process.returncode
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _ended_early(children: Children, stop: StopRequests, say: Say) -> int:
    dead = children.first_exited()
    if dead is None:
        if stop.event.is_set():
            say("stopping...")
            return 0
        raise DevError("the API did not answer /healthz in time")
    say(f"treadle dev: the {dead.name} (pid {dead.pid}) {_how_it_ended(dead)}; stopping")
    return 1
