"""Signing in with an OpenID Connect provider, in a real headless Chromium: a real API
process on PostgreSQL configured with a real local provider (`oidc-provider-mock`).

Every wait is Playwright's auto-waiting `expect(...)`; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import oidc_provider_mock
import pytest
from playwright.sync_api import Page, expect

from adapters.postgres.migrate import upgrade
from application.use_cases.people import Invite
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings
from tests.browser.conftest import screenshot
from tests.support.api_stack import SECRET_KEY, Stack, api_and_worker
from tests.support.databases import drop_database, fresh_database_url

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COLLEAGUE = {"email": "colleague@example.com", "email_verified": True, "name": "Col League"}
ADMIN_PAGES = ("/console/secrets", "/console/tokens", "/console/audit")


async def invite(database: str, email: str, role: str) -> None:
    """What an admin's invitation does, through the use case over the same database."""
    settings = Settings.model_validate({"database_url": database, "secret_key": SECRET_KEY})
    runtime = await bootstrap(settings)
    try:
        services = runtime.services
        workspace = await services.ensure_workspace()(EnsureWorkspace("e2e"))
        await services.invite()(Invite(workspace.id, email, role))
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def stack(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API configured with a local provider that knows the colleague, who was
    invited to the e2e workspace as an editor (overrides the console's usual stack)."""
    database = fresh_database_url(postgres_server_url, "treadle_sign_in")
    upgrade(database)
    logs = tmp_path_factory.mktemp("sign-in-logs")
    try:
        with oidc_provider_mock.run_server_in_thread() as provider:
            issuer = f"http://localhost:{provider.server_port}"
            answer = httpx.put(f"{issuer}/users/colleague", json=COLLEAGUE, timeout=10)
            assert answer.status_code == 204, answer.text
            setting = {
                "name": "test",
                "title": "Test ID",
                "issuer": issuer,
                "client_id": "treadle",
                "client_secret": "treadle-client-secret",
            }
            with api_and_worker(
                database, logs, TREADLE_OIDC_PROVIDERS=json.dumps([setting])
            ) as running:
                asyncio.run(invite(database, COLLEAGUE["email"], "editor"))
                yield running
    finally:
        drop_database(database)


def test_an_invited_colleague_signs_in_sees_an_editors_pages_and_signs_out(page: Page) -> None:
    page.goto("/console/workflows")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    expect(page.get_by_text("Use an API token")).to_be_visible()
    expect(page.locator("#token")).to_be_hidden()  # folded away beneath the provider
    screenshot(page, "sign-in-with-provider")

    page.get_by_role("link", name="Sign in with Test ID").click()
    page.locator("input[name=sub]").fill("colleague")
    page.get_by_role("button", name="Authorize").click()

    expect(page).to_have_url(re.compile(r"/console/workflows$"))
    header = page.locator("header")
    expect(header.locator("[data-signed-in-as]")).to_have_text("Col League")
    expect(header.locator("[data-role]")).to_have_text("editor")
    expect(header.get_by_role("link", name="Workflows")).to_be_visible()
    for path in ADMIN_PAGES:
        expect(header.locator(f'a[href="{path}"]')).to_have_count(0)
    expect(page.get_by_role("link", name="New workflow").first).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["treadle_console"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert "eyJ" not in session["value"] and "treadle_sign_in" not in cookies
    screenshot(page, "signed-in-as-editor")

    header.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    expect(page.get_by_role("link", name="Sign in with Test ID")).to_be_visible()
    page.goto("/console/executions")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Fexecutions"))
