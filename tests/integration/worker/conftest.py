"""Fixtures of the worker integration tests: a harness on a fresh database, and a fake server.

Each test gets its own migrated database, so workers never see another test's executions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.postgres.migrate import upgrade
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings
from tests.integration.worker.harness import SECRET_KEY, Harness
from tests.integration.worker.servers import WorkerTestServer
from tests.support.databases import drop_database, fresh_database_url


@pytest.fixture
async def harness(postgres_server_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    url = fresh_database_url(postgres_server_url, "treadle_worker")
    upgrade(url)
    settings = Settings.model_validate({"database_url": url, "secret_key": SECRET_KEY})
    runtime = await bootstrap(settings)
    services = runtime.services
    workspace = await services.ensure_workspace()(EnsureWorkspace("worker-tests"))
    logs = tmp_path / "logs"
    logs.mkdir()
    harness = Harness(url, runtime, services, workspace.id, logs)
    try:
        yield harness
    finally:
        harness.close()
        await runtime.close()
        drop_database(url)


@pytest.fixture
def server() -> Iterator[WorkerTestServer]:
    with WorkerTestServer() as running:
        yield running
