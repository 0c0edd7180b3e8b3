"""Transaction-mode poolers (PgBouncer, Supabase's pooler, RDS Proxy).

How a pooler URL is recognised; that every connection through one prepares nothing on the
server; that the LISTEN connection and the membership lock take the session URL (and,
without one, that the process says so once and keeps working by polling); and the same
through a real PgBouncer in transaction mode, with a real worker process picking a run up
by notification rather than by polling.

The PgBouncer is the one CI puts in front of the server (`TREADLE_TEST_DATABASE_URL`, with
`TREADLE_TEST_SESSION_DATABASE_URL` naming the server directly), or else one started here
in front of the test server: that needs `pgbouncer` installed, and is skipped without it
(failed under `CI=true`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.postgres.direct import DirectConnection
from adapters.postgres.migrate import current_revision, head_revision, upgrade
from adapters.postgres.setup import NO_SESSION_URL, PostgresAdapters, create_engine
from adapters.postgres.urls import (
    POOLER_MARKER,
    conninfo_is_transaction_pooler,
    driver_url,
    is_transaction_pooler,
    libpq_conninfo,
)
from adapters.postgres.wake_routing import MEMBERSHIP_CLASS
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from application.use_cases.workspaces import EnsureWorkspace
from bench.pgbouncer import find_binary as find_pgbouncer
from bench.pgbouncer import running_pgbouncer
from entrypoints.bootstrap import bootstrap, upgrade_schema
from entrypoints.settings import Settings
from tests.support.api_stack import free_port
from tests.support.databases import (
    configured_server_url,
    configured_session_server_url,
    drop_database,
    fresh_database_url,
    session_url_for,
    skip_or_fail,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "pooler-mode-tests-secret-key"
PREPARED = "SELECT count(*) AS prepared FROM pg_prepared_statements"
SESSION_APP = "treadle-session-test"
LEASE = timedelta(seconds=30)
LONG_POLL = 30.0
"""The workers' poll interval in the pickup test: a run picked up well within it was
picked up by its notification."""


# ---- The detection rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres", True),
        ("postgresql://u:p@db.example.com:5432/postgres?pgbouncer=true", True),
        ("postgres://u@db.example.com/app?sslmode=require&pgbouncer=1", True),
        ("postgresql://u@db.example.com:5432/postgres?pgbouncer=false", False),
        ("postgresql://u@db.example.com:5432/postgres", False),
        ("postgresql://u@db.example.com/postgres", False),
    ],
)
def test_a_transaction_pooler_is_recognised_by_port_or_marker(url: str, expected: bool) -> None:
    assert is_transaction_pooler(url) is expected


def test_a_declared_pooler_mode_wins_over_detection() -> None:
    assert is_transaction_pooler("postgresql://u@proxy.example.com:5432/app", "transaction")
    assert not is_transaction_pooler("postgresql://u@host:6543/app", "session")
    with pytest.raises(ValueError, match="auto, transaction, session"):
        is_transaction_pooler("postgresql://u@host/app", "statement")


def test_the_marker_never_reaches_the_driver() -> None:
    url = "postgresql://u:p%40ss@db.example.com:5432/app?sslmode=require&pgbouncer=true"
    assert "pgbouncer" not in libpq_conninfo(url)
    assert "sslmode=require" in libpq_conninfo(url)
    assert make_url(driver_url(url)).query == {"sslmode": "require"}
    assert make_url(driver_url(url)).password == "p@ss"


def test_a_connection_string_is_a_poolers_by_its_port() -> None:
    assert conninfo_is_transaction_pooler("host=pooler port=6543 dbname=app")
    assert not conninfo_is_transaction_pooler("host=db port=5432 dbname=app")


def test_the_settings_read_the_session_url_and_the_pooler_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TREADLE_SESSION_DATABASE_URL", "postgresql://u@db:5432/app")
    monkeypatch.setenv("TREADLE_DATABASE_POOLER", "transaction")
    settings = Settings()
    assert settings.session_database_url == "postgresql://u@db:5432/app"
    assert settings.database_pooler == "transaction"
    assert Settings.model_fields["database_pooler"].default == "auto"


# ---- On the test server, with the pooler mode declared ------------------------------------


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database, reached directly (even when the suite runs through a
    pooler): these tests declare the pooler mode and look at the sessions themselves."""
    url = fresh_database_url(postgres_server_url, "treadle_pooler")
    upgrade(url)
    yield session_url_for(url) or url
    drop_database(url)


def with_application_name(url: str, name: str) -> str:
    """`url` with connections named `name` in `pg_stat_activity`."""
    parsed = make_url(url).update_query_dict({"application_name": name})
    return parsed.render_as_string(hide_password=False)


async def prepared_after_repeats(connection: DirectConnection, times: int = 8) -> int:
    """How many statements the session has prepared after running one `times` times."""
    rows: list[Any] = []
    for _ in range(times):
        rows = await connection.fetch(PREPARED, {})
    return int(rows[0]["prepared"])


async def test_direct_connections_prepare_nothing_through_a_pooler(database_url: str) -> None:
    pooled = DirectConnection(libpq_conninfo(database_url), transaction_pooler=True)
    direct = DirectConnection(libpq_conninfo(database_url), transaction_pooler=False)
    try:
        assert await prepared_after_repeats(pooled) == 0
        assert await prepared_after_repeats(direct) > 0  # what the option turns off
    finally:
        await pooled.close()
        await direct.close()


async def test_the_engine_prepares_nothing_through_a_pooler(database_url: str) -> None:
    engine = create_engine(database_url, 1, transaction_pooler=True)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            assert driver.prepare_threshold is None
    finally:
        await engine.dispose()


async def test_the_listener_and_the_membership_use_the_session_url(database_url: str) -> None:
    session_url = with_application_name(database_url, SESSION_APP)
    adapters = PostgresAdapters(
        database_url,
        SystemClock(),
        pool_size=1,
        runs_worker=True,
        session_url=session_url,
        pooler="transaction",
    )
    await adapters.start()
    try:
        assert adapters.transaction_pooler
        pid = adapters.listener.backend_pid
        assert pid is not None and adapters.listener.holds_membership
        async with await psycopg.AsyncConnection.connect(libpq_conninfo(database_url)) as admin:
            cursor = await admin.execute(
                "SELECT application_name FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            assert await cursor.fetchone() == (SESSION_APP,)
            cursor = await admin.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
                " AND pid = %s AND granted",
                (MEMBERSHIP_CLASS, pid),
            )
            assert await cursor.fetchone() == (1,)
    finally:
        await adapters.close()


async def test_without_a_session_url_it_says_so_once_and_polls(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.postgres.setup")
    adapters = PostgresAdapters(database_url, SystemClock(), runs_worker=True, pooler="transaction")
    await adapters.start()
    try:
        assert [record.getMessage() for record in caplog.records] == [NO_SESSION_URL]
        assert adapters.listener.backend_pid is None
        assert not adapters.listener.holds_membership
        # Nothing wakes it: waiting for work ends with the timeout, and claims still work.
        assert not await adapters.queue.wait_for_work(0.05)
        assert await adapters.queue.claim("w", 1, LEASE) == []
    finally:
        await adapters.close()


# ---- Through a real PgBouncer in transaction mode ------------------------------------------


@dataclass(frozen=True)
class Pooler:
    """A PgBouncer in transaction mode: `url` through it, `direct` to the server behind."""

    url: str
    direct: str


@pytest.fixture(scope="module")
def pooler(postgres_server_url: str) -> Iterator[Pooler]:
    """CI's PgBouncer when the suite runs through one, else one started here."""
    configured, direct = configured_server_url(), configured_session_server_url()
    if configured is not None and direct is not None:
        yield Pooler(configured, direct)
        return
    binary = find_pgbouncer()
    if binary is None:
        skip_or_fail("pgbouncer is not installed (apt-get install pgbouncer)")
    with running_pgbouncer(postgres_server_url, pool_size=20, executable=binary) as url:
        yield Pooler(url, postgres_server_url)


@pytest.fixture
def pooled_database(pooler: Pooler) -> Iterator[tuple[str, str]]:
    """(URL through the pooler, direct URL) of a fresh, migrated database."""
    direct = fresh_database_url(pooler.direct, "treadle_pooled")
    upgrade(direct)
    name = make_url(direct).database
    pooled = make_url(pooler.url).set(database=name).render_as_string(hide_password=False)
    try:
        yield pooled, direct
    finally:
        drop_database(direct)


async def test_the_adapters_work_through_pgbouncer(pooled_database: tuple[str, str]) -> None:
    pooled, direct = pooled_database
    assert is_transaction_pooler(pooled)
    assert session_url_for(pooled) in (None, direct)
    adapters = PostgresAdapters(pooled, SystemClock(), pool_size=2, session_url=direct)
    await adapters.start()
    try:
        # Many repeats of the same statements, from several connections at once: a
        # statement prepared on one server session and run on another would fail.
        for _ in range(4):
            await asyncio.gather(*(adapters.queue.claim("w", 1, LEASE) for _ in range(8)))
        async with adapters.engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None and driver.prepare_threshold is None
        assert adapters.listener.backend_pid is not None
    finally:
        await adapters.close()


@pytest.mark.e2e
async def test_a_worker_through_pgbouncer_picks_a_run_up_by_notification(
    pooled_database: tuple[str, str], tmp_path: Path
) -> None:
    pooled, direct = pooled_database
    settings = Settings.model_validate(
        {"database_url": pooled, "session_database_url": direct, "secret_key": SECRET_KEY}
    )
    runtime = await bootstrap(settings)
    log = tmp_path / "worker.log"
    metrics_port = free_port()
    worker = start_worker(pooled, direct, log, metrics_port)
    try:
        await until(lambda: listening_workers(direct) == 1, worker, log, "the worker to listen")
        # Its first claim, at start, found nothing: from then on it waits for a wake-up (or
        # its long poll), so the run below is picked up by its notification.
        await until(lambda: claims_made(metrics_port) >= 1, worker, log, "the first claim")
        workspace = await runtime.services.ensure_workspace()(EnsureWorkspace("pooler"))
        definition = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}
        workflow = await runtime.engine.create_workflow()(
            CreateWorkflow(workspace.id, "through-pgbouncer", definition)
        )
        started_at = time.monotonic()
        started = await runtime.engine.start_run()(StartRun(workspace.id, workflow.id, {}))
        execution_id = started.execution.id
        await until(lambda: status(direct, execution_id) == "completed", worker, log, "the run")
        assert time.monotonic() - started_at < LONG_POLL / 6
    finally:
        stop(worker)
        await runtime.close()


def start_worker(pooled: str, direct: str, log: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    """A real worker process on the pooler with the direct session URL, polling rarely,
    with its metrics on `metrics_port`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TREADLE_") and name not in ("DATABASE_URL", "SUPABASE_DB_URL")
    }
    env.update(
        DATABASE_URL=pooled,
        TREADLE_SESSION_DATABASE_URL=direct,
        SECRET_KEY=SECRET_KEY,
        TREADLE_POLL_INTERVAL=str(LONG_POLL),
        TREADLE_WORKER_METRICS_PORT=str(metrics_port),
        PYTHONPATH=str(ROOT),
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints.worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def listening_workers(direct: str) -> int:
    with psycopg.connect(libpq_conninfo(direct), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE 'LISTEN%%'"
        ).fetchone()
    return int(row[0]) if row else 0


def status(direct: str, execution_id: str) -> str | None:
    with psycopg.connect(libpq_conninfo(direct), autocommit=True) as conn:
        row = conn.execute(
            "SELECT status FROM executions WHERE id = %s", (execution_id,)
        ).fetchone()
    return None if row is None else str(row[0])


def claims_made(metrics_port: int) -> float:
    """How many claims the worker has made (finished), from its Prometheus metrics; 0
    until they answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1).text
    except httpx.HTTPError:
        return 0
    for line in text.splitlines():
        if line.startswith("treadle_claim_duration_seconds_count"):
            return float(line.split()[-1])
    return 0


async def until(check: Any, worker: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Wait for `check()`, failing with the worker's log if it exits or 10 s pass."""
    deadline = time.monotonic() + 10
    while not check():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {what}; worker log:\n{log.read_text(errors='replace')}")
        await asyncio.sleep(0.02)


def test_migrate_runs_through_a_transaction_pooler(pooler: Pooler) -> None:
    direct = fresh_database_url(pooler.direct, "treadle_migrate_pooled")
    name = make_url(direct).database
    through_pooler = make_url(pooler.url).set(database=name)
    # Without the URL's marker, the setting says it is a pooler (the port may say so too).
    without_marker = through_pooler.difference_update_query([POOLER_MARKER])
    pooled = without_marker.render_as_string(hide_password=False)
    try:
        settings = Settings.model_validate(
            {"database_url": pooled, "database_pooler": "transaction"}
        )
        upgrade_schema(settings)
        assert current_revision(direct) == head_revision()
    finally:
        drop_database(direct)


def test_migrate_prefers_the_session_url(pooler: Pooler) -> None:
    direct = fresh_database_url(pooler.direct, "treadle_migrate_session")
    nowhere = "postgresql://nobody@127.0.0.1:1/nothing"  # DATABASE_URL is not used at all
    try:
        settings = Settings.model_validate(
            {"database_url": nowhere, "session_database_url": direct}
        )
        upgrade_schema(settings)
        assert current_revision(direct) == head_revision()
    finally:
        drop_database(direct)
