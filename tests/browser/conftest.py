"""A live stack for the console's browser tests: a real API (uvicorn) and worker process on
PostgreSQL, a small HTTP server for the HTTP nodes, and Debian's headless Chromium.

Chromium is driven by Playwright with `executable_path`, never with Playwright's own
browser download. Without it the tests skip locally and fail under `CI=true`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.postgres.migrate import upgrade
from tests.support.api_stack import (
    SECRET_KEY,
    bootstrap_token,
    free_port,
    start,
    stop,
    wait_until,
)
from tests.support.databases import drop_database, fresh_database_url, skip_or_fail
from tests.support.fake_servers import ProgrammableServer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("TREADLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPECT_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Stack:
    base_url: str
    token: str
    http_server: ProgrammableServer

    def api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def stack(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    database = fresh_database_url(postgres_server_url, "treadle_console")
    upgrade(database)
    token = asyncio.run(bootstrap_token(database))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": SECRET_KEY,
        "TREADLE_API_PORT": str(port),
        "TREADLE_POLL_INTERVAL": "0.2",
        "TREADLE_LOG_LEVEL": "WARNING",
        "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1",
    }
    logs = tmp_path_factory.mktemp("console-logs")
    api = start("entrypoints.api.main", env, logs / "api.log")
    worker = start("entrypoints.worker", env, logs / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        with ProgrammableServer() as server:
            wait_until(lambda: _ready(base, api), "the API to answer /readyz")
            yield Stack(base, token, server)
    finally:
        stop(api)
        stop(worker)
        for name in ("api.log", "worker.log"):
            print(f"--- {name} ---\n{(logs / name).read_text(errors='replace')[-2000:]}")
        drop_database(database)


def _ready(base: str, process: object) -> bool:
    if process.poll() is not None:
        raise AssertionError("the API process exited early; see its log")
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(stack: Stack, browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies) with a page at the console's base URL."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=stack.base_url, viewport={"width": 1360, "height": 860}
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: object, name: str, full_page: bool = True) -> None:
    """Save the page under test-artifacts/screenshots/ (git-ignored) for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    page.screenshot(path=path, full_page=full_page)  # type: ignore[attr-defined]
