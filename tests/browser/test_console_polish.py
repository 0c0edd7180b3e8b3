"""The console's newer pieces in a real Chromium: comparing two versions, the executions
list's search and filters, following a sub-workflow to its child and back, and the main
pages at 420 px wide (nothing wider than the window except inside scroll containers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack, screenshot
from tests.browser.test_console import api_run, api_workflow, node, sign_in, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NARROW = {"width": 420, "height": 860}

FIRST: dict[str, Any] = {
    "nodes": [{"id": "fetch", "kind": "noop"}, {"id": "store", "kind": "noop"}],
    "edges": [{"from": "fetch", "to": "store"}],
}
SECOND: dict[str, Any] = {
    "nodes": [
        {"id": "fetch", "kind": "noop", "name": "Fetch the customer records from the CRM"},
        {"id": "notify", "kind": "noop"},
    ],
    "edges": [{"from": "fetch", "to": "notify"}],
}
# Fails at once (no case matches and there is no default), with an error to show.
FAILS: dict[str, Any] = {
    "nodes": [
        {"id": "pick", "kind": "condition", "config": {"cases": [{"when": "yes", "if": "false"}]}},
        {"id": "then", "kind": "noop"},
    ],
    "edges": [{"from": "pick", "to": "then", "when": "yes"}],
}


def doubles() -> dict[str, Any]:
    return {
        "nodes": [{"id": "double", "kind": "transform", "config": {"output": "{{ input.n * 2 }}"}}]
    }


def calls(child: str) -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": "each",
                "kind": "for_each",
                "config": {
                    "items": "{{ [1, 2] }}",
                    "workflow": child,
                    "input": {"n": "{{ item }}"},
                },
            },
            {
                "id": "once",
                "kind": "sub_workflow",
                "config": {"workflow": child, "input": {"n": 1}},
            },
        ],
        "edges": [],
    }


def two_versions(stack: Stack) -> str:
    workflow_id = api_workflow(stack, FIRST, unique("versions"))
    with stack.api() as api:
        saved = api.put(f"/api/v1/workflows/{workflow_id}", json={"definition": SECOND})
        assert saved.status_code == 200, saved.text
    return workflow_id


def fits(page: Page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_compare_two_versions_side_by_side(page: Page, stack: Stack) -> None:
    workflow_id = two_versions(stack)
    sign_in(page, stack)
    page.goto(f"/console/workflows/{workflow_id}")
    page.get_by_label("From", exact=True).select_option("1")
    page.get_by_label("To", exact=True).select_option("2")
    page.get_by_role("button", name="Compare versions").click()

    expect(page).to_have_url(re.compile(rf"/console/workflows/{workflow_id}/diff\?from=1&to=2"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1 → v2")
    added = page.locator('tr[data-change="added"], tr[data-change="changed"]')
    expect(added.filter(has_text="Fetch the customer records")).to_have_count(1)
    removed = page.locator('tr[data-change="removed"], tr[data-change="changed"]')
    expect(removed.filter(has_text='"store"').first).to_be_visible()
    expect(page.locator("[data-diff-summary]")).to_contain_text("added")
    screenshot(page, "20-version-diff")


def test_search_and_filter_the_executions_list(page: Page, stack: Stack) -> None:
    workflow_id = api_workflow(stack, FAILS, unique("fails"))
    failed_id = api_run(stack, workflow_id)
    sign_in(page, stack)

    page.goto(f"/console/executions?workflow={workflow_id}")
    row = page.locator(f'tr[data-execution="{failed_id}"]')
    expect(row.locator(".badge")).to_have_text(re.compile("failed"))
    page.reload()  # the error column is drawn by the server once the run has failed
    expect(row.locator("[data-error] .error-kind")).not_to_be_empty()
    expect(row.locator('[data-trigger="manual"]')).to_have_text("manual or API")

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    page.get_by_label(re.compile("^Created from")).fill(tomorrow)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"created_from={tomorrow}"))
    expect(page.get_by_role("heading", name=re.compile("match these filters"))).to_be_visible()
    today = datetime.now(UTC).date().isoformat()
    page.get_by_label(re.compile("^Created from")).fill(today)
    page.get_by_label(re.compile("^Created to")).fill(today)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(f'tr[data-execution="{failed_id}"]')).to_be_visible()

    page.get_by_label("Execution id").fill(failed_id)
    page.get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(rf"/console/executions/{failed_id}$"))
    page.goto("/console/executions")
    page.get_by_label("Execution id").fill("ex_not_there")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("[data-no-such-id]")).to_contain_text("ex_not_there")


def test_follow_a_sub_workflow_to_its_child_and_back(page: Page, stack: Stack) -> None:
    child = unique("double")
    api_workflow(stack, doubles(), child)
    parent_id = api_run(stack, api_workflow(stack, calls(child), unique("fans")))
    sign_in(page, stack)
    page.goto(f"/console/executions/{parent_id}")
    expect(page.locator("[data-execution-status] .badge")).to_have_text(re.compile("completed"))

    node(page, "once").click()
    links = page.locator("#node-panel [data-child-links]")
    expect(links).to_contain_text("Child execution")
    links.get_by_role("link", name=re.compile("^ex_")).click()
    expect(page.locator("[data-parent-link]")).to_contain_text("sub-workflow of node once")
    page.locator("[data-parent-node]").click()
    expect(page).to_have_url(re.compile(rf"/console/executions/{parent_id}\?node=once"))
    expect(page.locator("#node-panel [data-node-panel]")).to_have_attribute(
        "data-node-panel", "once"
    )

    node(page, "each").click()
    page.locator("#node-panel [data-child-links]").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/console/executions\?parent={parent_id}"))
    expect(page.locator('td[data-trigger="item"]')).to_have_count(2)


def test_the_main_pages_fit_a_420_px_window(page: Page, stack: Stack) -> None:
    workflow_id = two_versions(stack)
    execution_id = api_run(stack, workflow_id)
    failed_id = api_run(stack, api_workflow(stack, FAILS, unique("narrow-fails")))
    sign_in(page, stack)
    page.set_viewport_size(NARROW)
    pages = {
        "executions": "/console/executions",
        "workflows": "/console/workflows",
        "workflow": f"/console/workflows/{workflow_id}",
        "diff": f"/console/workflows/{workflow_id}/diff?from=1&to=2",
        "execution": f"/console/executions/{execution_id}",
        "failed execution": f"/console/executions/{failed_id}?node=pick",
        "404": "/console/no/such/page",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.locator("main h1").first).to_be_visible()
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link").first
        ).to_be_visible()
        wide, window = fits(page)
        assert wide <= window, f"the {name} page is {wide} px wide in a {window} px window"
        screenshot(page, f"21-narrow-{name.replace(' ', '-')}")
