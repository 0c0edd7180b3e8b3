"""Fixtures for the chaos tests: fresh databases, process harnesses, and the `chaos` marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.postgres.embedded import EmbeddedPostgresError, ensure_database
from adapters.postgres.migrate import upgrade
from tests.chaos.support import OwnServer
from tests.support.databases import drop_database, fresh_database_url, skip_or_fail


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: kills and restarts processes (bounded in time)")


@pytest.fixture
def chaos_database(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database on the session's server, dropped afterwards."""
    url = fresh_database_url(postgres_server_url, "treadle_chaos")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OwnServer, str]]:
    server = OwnServer(tmp_path_factory.mktemp("restart") / "pgdata")
    try:
        base = server.handle.start()
    except (EmbeddedPostgresError, OSError) as error:
        skip_or_fail(f"the test's own embedded server did not start: {error}")
    url = ensure_database(base, "treadle_restart")
    upgrade(url)
    try:
        yield server, url
    finally:
        server.start_server()  # stop() below needs it running to stop it cleanly
        server.handle.stop()
        # The server was restarted with new pids: letting go of it must still stop it.
        assert not (server.data_dir / "postmaster.pid").exists(), "the server outlived its test"
