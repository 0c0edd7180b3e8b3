"""The console's admin pages in a real Chromium against a real API, worker and PostgreSQL:
a secret is saved and only its name is shown; a token is shown once; a schedule's next
five fire times follow the cron as it is typed, before it is saved, then it is disabled.

Every wait is Playwright's auto-waiting `expect(...)`. Nothing sleeps.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack, screenshot
from tests.browser.test_console import WAITS_FOR_GO, api_workflow, sign_in, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TOKEN = re.compile(r"^trd_[A-Za-z0-9_-]{20,}$")


def test_a_saved_secret_shows_only_its_name(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Secrets").click()
    expect(page.get_by_role("heading", name="Secrets", exact=True)).to_be_visible()
    name = unique("PAYMENTS_KEY").replace("-", "_")
    value = unique("sk-live-do-not-leak")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Value", exact=True).fill(value)
    page.get_by_role("button", name="Save secret").click()

    expect(page.get_by_role("status")).to_contain_text("Its value will not be shown again")
    expect(page.locator(f'tr[data-secret="{name}"]')).to_contain_text(name)
    expect(page.get_by_label("Value", exact=True)).to_have_value("")
    assert value not in page.content()
    assert value not in page.url
    screenshot(page, "20-secrets")


def test_a_new_token_is_shown_once(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    name = unique("reporting")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("you will not see it again")).to_be_visible()
    shown = page.get_by_label("The new token")
    expect(shown).to_have_value(TOKEN)
    token = shown.input_value()
    page.get_by_role("button", name="Copy").click()
    # Headless Chromium may refuse the clipboard; either way the button says what happened.
    expect(page.get_by_role("button", name=re.compile("^(Copied|Press Ctrl\\+C)$"))).to_be_visible()
    screenshot(page, "21-token-created")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    expect(page.locator("[data-tokens]")).to_contain_text(name)
    expect(page.get_by_text("you will not see it again")).to_have_count(0)
    assert token not in page.content()
    with stack.api() as api:
        answer = api.get("/api/v1/workspace", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["role"] == "viewer"


def test_a_schedules_fire_times_follow_the_cron_as_it_is_typed(page: Page, stack: Stack) -> None:
    workflow_name = unique("digest")
    workflow_id = api_workflow(stack, WAITS_FOR_GO, workflow_name)
    sign_in(page, stack)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Workflow").select_option(label=workflow_name)
    times = page.locator("[data-fire-times] li")
    cron = page.get_by_label("Cron")

    page.get_by_label("Time zone").fill("Asia/Tokyo")
    cron.fill("30 14 * * *")
    expect(times).to_have_text([re.compile(r"14:30:00 JST$")] * 5)

    cron.fill("61 * * * *")
    expect(page.locator("[data-fire-problems]")).to_contain_text("is not a cron expression")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(times).to_be_hidden()

    cron.fill("0 7 * * 1")
    expect(times).to_have_text([re.compile(r"^Mon \S+ 07:00:00 JST$")] * 5)
    expect(cron).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "22-schedule-preview")
    with stack.api() as api:
        listed = api.get("/api/v1/schedules", params={"workflow_id": workflow_id}).json()
    assert listed == [], "the preview saves nothing"

    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule created.")
    expect(
        page.get_by_role("heading", name=re.compile(f"Schedule of {workflow_name}"))
    ).to_be_visible()
    expect(times).to_have_text([re.compile(r"^Mon \S+ 07:00:00 JST$")] * 5)

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule disabled.")
    expect(page.locator("h1 [data-enabled]")).to_have_text("○ off")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    row = page.locator("tr[data-schedule]", has_text=workflow_name)
    expect(row.locator("[data-enabled]")).to_have_attribute("data-enabled", "no")
    expect(row).to_contain_text("0 7 * * 1")
    with stack.api() as api:
        saved = api.get("/api/v1/schedules", params={"workflow_id": workflow_id}).json()
    assert [(s["cron"], s["timezone"], s["enabled"]) for s in saved] == [
        ("0 7 * * 1", "Asia/Tokyo", False)
    ]
