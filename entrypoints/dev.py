"""`treadle dev`: the whole engine on one machine, supervised by one process.

Checks that the API port is free, starts (or adopts) the embedded PostgreSQL under
`.treadle/postgres` on 127.0.0.1 (after checking its port too), migrates it, makes sure a
`default` workspace and an admin token exist, then runs the API (with the console) and N
workers as child processes, restarting one that crashes (`entrypoints/dev_children.py`).
Ctrl-C or SIGTERM stops the children gracefully (SIGTERM, then SIGKILL after a deadline)
and then the database; a second Ctrl-C kills the children at once instead of waiting.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from adapters.local_ports import port_in_use
from adapters.nodes.network_guard import ALLOWLIST_SETTING
from adapters.postgres.embedded import EmbeddedPostgres, PortTaken, ensure_database
from adapters.postgres.migrate import upgrade
from adapters.postgres.urls import libpq_url
from entrypoints.dev_children import Children, GaveUp, RestartPolicy, Say
from entrypoints.dev_setup import DevFiles, answers_health_check, bootstrap_admin_token
from entrypoints.dev_setup import load_or_create_secret_key as load_secret_key
from entrypoints.settings import Settings, SettingsError, load_settings

DEFAULT_DB_PORT = 54329
DEV_DATABASE = "treadle"
_CHECK_SECONDS = 0.2


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
    restart: RestartPolicy = field(default_factory=RestartPolicy)


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


def check_api_port(options: DevOptions) -> None:
    """Refuse a taken API port: the other program would answer our health check."""
    if port_in_use(options.host, options.port):
        raise DevError(
            f"the API port {options.port} on {options.host} is taken by another program;"
            " stop it or pass --port"
        )


def start_database(options: DevOptions, say: Say) -> tuple[EmbeddedPostgres, str]:
    """Start or adopt the server, create the dev database and migrate it; return its URL."""
    server = EmbeddedPostgres(options.root / "postgres", port=options.db_port)
    try:
        server_url = server.start()
    except PortTaken as error:
        raise DevError(
            f"the database port {error.port} on 127.0.0.1 is taken by another program;"
            " stop it or pass --db-port (or set TREADLE_DEV_DB_PORT)"
        ) from error
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


def network_line(settings: Settings) -> str:
    """What the workers may reach, so a newcomer knows why a local URL is refused."""
    if not settings.allowed_hosts:
        return (
            "Network: workers reach public addresses only; to call a private or loopback"
            f" host, restart with {ALLOWLIST_SETTING}=host[,host...]"
        )
    return f"Network: public addresses, plus {ALLOWLIST_SETTING}={','.join(settings.allowed_hosts)}"


def run_dev(options: DevOptions, say: Say = print) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until a child keeps crashing (exit 1)."""
    stop = StopRequests()
    with stop.installed():
        try:
            settings = load_settings()
        except SettingsError as error:
            raise DevError(str(error)) from error
        check_api_port(options)
        files = DevFiles(options.root)
        secret_key = load_secret_key(files)
        server, url = start_database(options, say)
        env = child_environment(url, secret_key, options)
        children = Children(env, say, options.restart)
        try:
            if stop.event.is_set():
                return 0
            return _supervise(options, settings, files, url, secret_key, children, stop, say)
        except GaveUp as error:
            say(f"treadle dev: {error}")
            return 1
        finally:
            children.stop(options.stop_timeout, stop.hurry)
            server.stop()
            say("stopped: every process and the database")


def _supervise(
    options: DevOptions,
    settings: Settings,
    files: DevFiles,
    url: str,
    secret_key: str,
    children: Children,
    stop: StopRequests,
    say: Say,
) -> int:
    token = bootstrap_admin_token(url, secret_key, files)
    children.start(
        "api", ["entrypoints.cli", "api", "--host", options.host, "--port", str(options.port)]
    )
    for number in range(1, options.workers + 1):
        children.start(f"worker {number}", ["entrypoints.worker"])
    base = f"http://{options.host}:{options.port}"
    if _wait_until_ready(base, options.ready_timeout, children, stop):
        say(f"Console: {base}/")
        say(f"Token:   {token}  (also in {files.admin_token})")
        secret_file = files.secret_key.resolve()
        say(f"CLI:     export DATABASE_URL='{libpq_url(url)}' SECRET_KEY=\"$(cat {secret_file})\"")
        say(network_line(settings))
        say("Press Ctrl-C to stop.")
        while not stop.event.wait(_CHECK_SECONDS):
            children.keep_running()
    say("stopping...")
    return 0


def _wait_until_ready(base: str, timeout: float, children: Children, stop: StopRequests) -> bool:
    """Keep the children running until the API answers `/healthz` (True) or a stop (False)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while not stop.event.is_set():
            children.keep_running()
            if answers_health_check(client, base):
                return True
            if time.monotonic() > deadline:
                raise DevError("the API did not answer /healthz in time")
            stop.event.wait(_CHECK_SECONDS)
    return False
