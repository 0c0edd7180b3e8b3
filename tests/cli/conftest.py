"""Fixtures for the CLI tests: a migrated database, the CLI in-process, and a worker process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from adapters.postgres.migrate import upgrade
from entrypoints.cli.main import app
from tests.client.conftest import served  # noqa: F401 - the API on 127.0.0.1, for test_remote
from tests.support.databases import drop_database, fresh_database_url

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
WORKER_STOP_SECONDS = 20


@pytest.fixture(scope="module")
def cli_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for one test module."""
    url = fresh_database_url(postgres_server_url, "treadle_cli")
    upgrade(url)
    yield url
    drop_database(url)


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `treadle` process pointed at `database_url`."""
    ignored = ("SUPABASE_DB_URL", "TREADLE_WORKSPACE", "TREADLE_URL", "TREADLE_TOKEN")
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(REPOSITORY_ROOT), **extra)
    return env


class Cli:
    """`treadle` run in this process against one database."""

    def __init__(self, database_url: str | None) -> None:
        self.env = {"DATABASE_URL": database_url} if database_url else {}
        self._runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.invoke(*args)

    def invoke(self, *args: str, stdin: str | None = None) -> Result:
        unset = {
            "SUPABASE_DB_URL": None,
            "TREADLE_DATABASE_URL": None,
            "TREADLE_WORKSPACE": None,
            "TREADLE_URL": None,
            "TREADLE_TOKEN": None,
            "TREADLE_PROFILE": None,
            "TREADLE_CONFIG": None,
        }
        env = {**unset, "DATABASE_URL": None, **self.env}
        return self._runner.invoke(app, list(args), input=stdin, env=env, catch_exceptions=False)


@pytest.fixture
def cli(cli_database_url: str) -> Cli:
    return Cli(cli_database_url)


@pytest.fixture(scope="module")
def worker_process(
    cli_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A real worker process (`python -m entrypoints.worker`) on the module's database."""
    log = (tmp_path_factory.mktemp("worker") / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.worker"],
        env=process_env(cli_database_url, TREADLE_GRACE_SECONDS="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPOSITORY_ROOT,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
