"""The embedded PostgreSQL adapter against real servers started from the wheel.

Each test owns a data directory under its own tmp_path, so servers never collide.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from adapters.postgres.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    PortTaken,
    ensure_database,
)
from adapters.postgres.urls import libpq_conninfo

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# A holder that adopts the server, then dies without letting go of it.
_ADOPT_THEN_SIGKILL = """
import os, signal, sys
from pathlib import Path
from adapters.postgres.embedded import EmbeddedPostgres
EmbeddedPostgres(Path(sys.argv[1])).start()
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "pgdata"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postmaster_started_at(url: str) -> datetime:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    started_at: datetime = row[0]
    return started_at


def assert_refuses_connections(url: str) -> None:
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq_conninfo(url), connect_timeout=2).close()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def handle_pids(data_dir: Path) -> list[int]:
    pids: list[int] = json.loads((data_dir / ".handle_pids.json").read_text())
    return pids


def test_start_initialises_a_server_that_answers_queries(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as server:
        assert server.url.startswith("postgresql+psycopg://postgres@/postgres?host=")
        assert (data_dir / "PG_VERSION").exists()
        with psycopg.connect(libpq_conninfo(server.url)) as conn:
            row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    assert str(row[0]).startswith("PostgreSQL ")


def test_a_second_handle_adopts_the_running_server(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)
    first_url = first.start()
    started_at = postmaster_started_at(first_url)

    second = EmbeddedPostgres(data_dir)
    assert second.start() == first_url
    assert postmaster_started_at(second.url) == started_at

    second.stop()
    assert postmaster_started_at(first_url) == started_at, "the first holder lost its server"
    first.stop()
    assert_refuses_connections(first_url)


def test_a_server_with_a_port_accepts_tcp_connections(data_dir: Path) -> None:
    port = free_tcp_port()
    with EmbeddedPostgres(data_dir, port=port) as server:
        assert server.url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SELECT inet_server_addr()::text, inet_server_port()").fetchone()
    assert row == ("127.0.0.1/32", port)


def test_a_socket_handle_adopts_a_server_started_with_a_port(data_dir: Path) -> None:
    port = free_tcp_port()
    with EmbeddedPostgres(data_dir, port=port) as tcp_server:
        socket_handle = EmbeddedPostgres(data_dir)
        url = socket_handle.start()
        assert url.endswith(f"&port={port}")
        assert postmaster_started_at(url) == postmaster_started_at(tcp_server.url)
        socket_handle.stop()


def test_a_port_that_differs_from_the_running_server_is_refused(data_dir: Path) -> None:
    other_port = EmbeddedPostgres(data_dir, port=free_tcp_port())
    with EmbeddedPostgres(data_dir), pytest.raises(EmbeddedPostgresError, match="already runs"):
        other_port.start()


def test_a_busy_port_is_refused_in_one_line_before_the_server_starts(data_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy_port = squatter.getsockname()[1]
        with pytest.raises(PortTaken, match=f"port {busy_port} on 127.0.0.1 is taken"):
            EmbeddedPostgres(data_dir, port=busy_port).start()


def test_stop_really_stops_the_server_and_is_idempotent(data_dir: Path) -> None:
    port = free_tcp_port()
    server = EmbeddedPostgres(data_dir, port=port)
    url = server.start()

    server.stop()
    server.stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert_refuses_connections(url)
    assert not (data_dir / "postmaster.pid").exists()
    with pytest.raises(EmbeddedPostgresError, match="not started"):
        _ = server.url


def test_a_stopped_server_starts_again_on_the_same_data(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as server:
        ensure_database(server.url, "kept")
    with EmbeddedPostgres(data_dir) as server:
        kept_url = libpq_conninfo(server.url, database="kept")
        with psycopg.connect(kept_url) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
    assert row == ("kept",)


def test_start_prunes_pids_of_dead_holders(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir):
        gone = dead_pid()
        (data_dir / ".handle_pids.json").write_text(json.dumps([gone, os.getpid()]))
        with EmbeddedPostgres(data_dir):
            assert handle_pids(data_dir) == [os.getpid()]


def test_a_holder_killed_by_sigkill_does_not_keep_the_server_alive(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    child = subprocess.run(
        [sys.executable, "-c", _ADOPT_THEN_SIGKILL, str(data_dir)],
        cwd=REPOSITORY_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert len(handle_pids(data_dir)) == 2, "the child never registered as a holder"

    server.stop()

    assert_refuses_connections(url)


def test_ensure_database_creates_a_missing_database_once(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as server:
        url = ensure_database(server.url, "treadle_example")
        assert ensure_database(server.url, "treadle_example") == url
        with psycopg.connect(libpq_conninfo(url)) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
    assert row == ("treadle_example",)
