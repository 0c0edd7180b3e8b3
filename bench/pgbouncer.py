"""`BENCH_PGBOUNCER=1`: the workloads once more through PgBouncer in transaction mode.

Supabase users connect through a transaction pooler by default. With this set, the chosen
workloads run a second time with the engine and the workers on a PgBouncer in front of the
same server (its URL says `pgbouncer=true`, so Treadle prepares nothing on the server) and
the direct URL as their session URL (LISTEN, membership). Databases are still created,
migrated and dropped directly. PgBouncer must be installed (`apt-get install pgbouncer`);
it trusts the server URL's user, so the server must too (the embedded one does).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from adapters.postgres.urls import POOLER_MARKER, sqlalchemy_url

ENV = "BENCH_PGBOUNCER"
LABEL = "via PgBouncer"

_DIRECT_BEHIND: dict[tuple[str | None, int | None], str] = {}
"""The direct server URL behind each running pooler, by the pooler's host and port."""


def requested() -> bool:
    return os.environ.get(ENV, "").strip().lower() in {"1", "true", "yes"}


def find_binary() -> str | None:
    """PgBouncer on the PATH, or where Debian puts it (not on every user's PATH)."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def binary() -> str:
    found = find_binary()
    if found is None:
        raise SystemExit(f"{ENV}=1 needs PgBouncer installed (apt-get install pgbouncer)")
    return found


def version() -> str:
    found = subprocess.run([binary(), "--version"], capture_output=True, text=True, check=True)
    return found.stdout.splitlines()[0].removeprefix("PgBouncer ").strip()


def direct_url_for(url: str) -> str | None:
    """The direct URL to the database `url` names, when `url` is on a running pooler."""
    parsed = make_url(sqlalchemy_url(url))
    direct = _DIRECT_BEHIND.get((parsed.host, parsed.port))
    if direct is None:
        return None
    return make_url(direct).set(database=parsed.database).render_as_string(hide_password=False)


def on_pooler(direct_url: str, pooled_server_url: str) -> str:
    """The URL of `direct_url`'s database through the pooler at `pooled_server_url`."""
    database = make_url(direct_url).database
    pooled = make_url(pooled_server_url).set(database=database)
    return pooled.render_as_string(hide_password=False)


@contextlib.contextmanager
def running_pgbouncer(
    server_url: str, *, pool_size: int = 40, executable: str | None = None
) -> Iterator[str]:
    """PgBouncer in transaction mode in front of `server_url`'s server (on TCP or a Unix
    socket), on a free port: its server URL, with `pgbouncer=true` (stopped however the
    block ends). The benchmark and the pooler tests both start theirs here."""
    server = make_url(sqlalchemy_url(server_url))
    folder = Path(tempfile.mkdtemp(prefix="treadle-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"{server.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(_config(server, port, folder, pool_size))
    user = _unprivileged_user(server)
    if user is not None:
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, user)
    # It logs to its log file as well: the terminal keeps the caller's own output.
    process = subprocess.Popen(
        [executable or binary(), str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=user,
    )
    # The pooler is on TCP: a socket server's host and port in the query are not its own.
    pooled = server.set(host="127.0.0.1", port=port, query={POOLER_MARKER: "true"})
    _DIRECT_BEHIND[("127.0.0.1", port)] = server.render_as_string(hide_password=False)
    try:
        _wait_for(port, process, folder / "pgbouncer.log")
        yield pooled.render_as_string(hide_password=False)
    finally:
        _DIRECT_BEHIND.pop(("127.0.0.1", port), None)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _config(server: URL, port: int, folder: Path, pool_size: int) -> str:
    """A transaction-mode pooler for every database of the server, trusting its user."""
    socket_folder = server.query.get("host")
    host = socket_folder or server.host or "127.0.0.1"
    server_port = server.query.get("port") or server.port or 5432
    return (
        f"[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\npool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 1000\nserver_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )


def _unprivileged_user(server: URL) -> str | None:
    """PgBouncer refuses to run as root: then it runs as the owner of the server's socket
    folder (who may reach the socket), else as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    socket_folder = server.query.get("host")
    if isinstance(socket_folder, str) and socket_folder:
        return Path(socket_folder).owner()
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise SystemExit("PgBouncer cannot run as root and there is no postgres or nobody user")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    details = log.read_text() if log.exists() else "(no log)"
    raise RuntimeError(f"PgBouncer did not start on port {port}:\n{details}")
