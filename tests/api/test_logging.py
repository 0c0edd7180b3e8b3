"""The app leaves the process's logging alone: the one-line format and the filter that keeps
`?token=` values out of access lines stay in place once the app has started."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from entrypoints.logs import LineFormatter, RedactQueryTokens, configure_logging
from tests.api.conftest import api_settings


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


async def test_a_started_app_keeps_the_redacting_handler(root_handlers: None) -> None:
    configure_logging("INFO")
    settings = api_settings()
    runtime = await bootstrap(settings)
    try:
        async with AsyncTestClient(app=create_app(runtime, settings)) as client:
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await runtime.close()
    handlers = logging.getLogger().handlers
    assert len(handlers) == 1
    assert isinstance(handlers[0].formatter, LineFormatter)
    assert any(isinstance(f, RedactQueryTokens) for f in handlers[0].filters)
