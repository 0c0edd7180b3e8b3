"""Fixtures for the chaos tests: fresh databases, process harnesses, and the `chaos` marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.postgres.migrate import upgrade
from tests.support.databases import drop_database, fresh_database_url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: kills and restarts processes (bounded in time)")


@pytest.fixture
def chaos_database(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database on the session's server, dropped afterwards."""
    url = fresh_database_url(postgres_server_url, "treadle_chaos")
    upgrade(url)
    yield url
    drop_database(url)
