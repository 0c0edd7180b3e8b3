"""The benchmark's PostgreSQL: an embedded server on a private TCP port, or `DATABASE_URL`.

Each workload gets a fresh, migrated database so earlier rows never skew it. The server's
own ceiling (single-row UPDATE + COMMIT per second) is measured here too, so every figure
can be read as a ratio of what this machine's disk and server allow.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from adapters.postgres.migrate import upgrade
from adapters.postgres.urls import libpq_conninfo, sqlalchemy_url
from bench.pgbouncer import direct_url_for, on_pooler


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerFacts:
    version: str
    fsync: str
    synchronous_commit: str
    embedded: bool


@contextmanager
def benchmark_server() -> Iterator[tuple[str, bool]]:
    """(server URL, embedded?) — `DATABASE_URL` when set, else a private embedded server."""
    configured = os.environ.get("DATABASE_URL") or os.environ.get("SUPABASE_DB_URL")
    if configured:
        yield sqlalchemy_url(configured), False
        return
    folder = Path(tempfile.mkdtemp(prefix="treadle-bench-"))
    server = EmbeddedPostgres(folder / "pgdata", port=free_port())
    try:
        yield server.start(), True
    finally:
        server.stop()


def fresh_database(server_url: str, label: str) -> str:
    """A new, migrated database on the server; its SQLAlchemy URL (through the pooler when
    `server_url` is one: the database itself is made directly)."""
    direct_server = direct_url_for(server_url) or server_url
    url = ensure_database(direct_server, f"treadle_bench_{label}_{time.time_ns() % 10**12}")
    upgrade(url)
    return url if direct_server == server_url else on_pooler(url, server_url)


def drop(url: str) -> None:
    name = make_url(url).database
    direct = direct_url_for(url) or url
    with psycopg.connect(libpq_conninfo(direct, database="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_facts(url: str, embedded: bool) -> ServerFacts:
    with psycopg.connect(libpq_conninfo(url)) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        fsync = str(conn.execute("SHOW fsync").fetchone()[0])  # type: ignore[index]
        sync = str(conn.execute("SHOW synchronous_commit").fetchone()[0])  # type: ignore[index]
    return ServerFacts(version, fsync, sync, embedded)


def commit_ceiling(url: str, connections: int, seconds: float) -> float:
    """Single-row UPDATE + COMMIT per second from `connections` connections at once."""
    conninfo = libpq_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id int PRIMARY KEY, n bigint)")
        conn.execute(
            "INSERT INTO bench_ceiling SELECT g, 0 FROM generate_series(1, 16) g"
            " ON CONFLICT DO NOTHING"
        )
    counts = [0] * connections
    deadline = time.monotonic() + seconds

    def hammer(index: int) -> None:
        with psycopg.connect(conninfo) as conn:
            while time.monotonic() < deadline:
                conn.execute("UPDATE bench_ceiling SET n = n + 1 WHERE id = %s", (index + 1,))
                conn.commit()
                counts[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)
