"""The web console in a real headless Chromium against a real API, worker and PostgreSQL.

Every wait is Playwright's auto-waiting `expect(...)`: it polls the DOM until the
condition holds or its deadline passes. Nothing sleeps.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Starts, pauses long enough for the page to be open before it finishes, then ends.
PAUSES = {
    "nodes": [
        {
            "id": "prepare",
            "kind": "transform",
            "name": "Prepare greeting",
            "config": {"output": {"greeting": "hello {{ input.name }}"}},
        },
        {"id": "pause", "kind": "delay", "config": {"seconds": 3}},
        {"id": "publish", "kind": "transform", "config": {"output": "{{ nodes.prepare.output }}"}},
        {"id": "audit", "kind": "noop", "name": "Audit log"},
        {"id": "done", "kind": "noop"},
    ],
    "edges": [
        {"from": "prepare", "to": "pause"},
        {"from": "pause", "to": "publish"},
        {"from": "prepare", "to": "audit"},
        {"from": "publish", "to": "done"},
        {"from": "audit", "to": "done"},
    ],
}

WAITS_FOR_GO = {
    "nodes": [
        {"id": "wait", "kind": "wait_for_signal", "config": {"signal": "go"}},
        {"id": "after", "kind": "transform", "config": {"output": "{{ nodes.wait.output }}"}},
    ],
    "edges": [{"from": "wait", "to": "after"}],
}


def calls_flaky_endpoint(base_url: str, name: str) -> dict[str, Any]:
    """Its HTTP node gets a 400 (not retried) the first time and a 200 after that."""
    return {
        "nodes": [
            {"id": "order", "kind": "transform", "config": {"output": {"id": 42}}},
            {
                "id": "charge",
                "kind": "http_request",
                "name": "Charge card",
                "config": {
                    "method": "POST",
                    "url": f"{base_url}/flaky/{name}?failures=1&status=400",
                },
            },
            {"id": "receipt", "kind": "noop"},
        ],
        "edges": [{"from": "order", "to": "charge"}, {"from": "charge", "to": "receipt"}],
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def sign_in(page: Page, stack: Stack, shoot: bool = False) -> None:
    page.goto("/console/workflows")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    if shoot:
        screenshot(page, "01-sign-in")
    page.get_by_label("Token").fill(stack.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()


def api_workflow(stack: Stack, definition: dict[str, Any], name: str) -> str:
    with stack.api() as api:
        response = api.post("/api/v1/workflows", json={"name": name, "definition": definition})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def api_run(stack: Stack, workflow_id: str, input: Any = None) -> str:
    with stack.api() as api:
        response = api.post(f"/api/v1/workflows/{workflow_id}/run", json={"input": input})
        assert response.status_code == 201, response.text
        return str(response.json()["execution_id"])


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'.graph .node[data-node="{node_id}"]')


def test_sign_in_fix_an_invalid_workflow_run_it_and_watch_it_live(page: Page, stack: Stack) -> None:
    sign_in(page, stack, shoot=True)
    page.get_by_role("link", name="New workflow").click()
    broken = json.loads(json.dumps(PAUSES))
    broken["edges"][2]["to"] = "auditt"
    page.get_by_label("Name").fill(unique("greeting"))
    page.get_by_label("Description").fill("Greets, pauses, publishes")
    page.get_by_role("tab", name="Source").click()
    page.get_by_label(re.compile("^Definition")).fill(json.dumps(broken, indent=2))
    page.get_by_role("button", name="Create workflow").click()

    problem = page.locator('.problem[data-path="edges[2].to"]')
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("auditt")
    expect(page.locator("#definition")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "03-editor-problems")

    page.get_by_role("tab", name="Source").click()
    page.get_by_label(re.compile("^Definition")).fill(json.dumps(PAUSES, indent=2))
    page.get_by_role("button", name="Create workflow").click()
    expect(page.get_by_role("status")).to_contain_text("Workflow created")
    expect(node(page, "publish")).to_be_visible()
    screenshot(page, "04-workflow")

    page.get_by_label("Input").first.fill('{"name": "Ada"}')
    page.get_by_role("button", name="Run latest version").click()
    expect(page).to_have_url(re.compile(r"/console/executions/ex_"))
    page.evaluate("window.__sameDocument = true")
    # The delay keeps `publish` from finishing before the page is open, so it turns green live.
    expect(node(page, "publish")).not_to_have_attribute("data-status", "succeeded", timeout=1500)
    for node_id in ("prepare", "pause", "publish", "audit", "done"):
        expect(node(page, node_id)).to_have_attribute("data-status", "succeeded")
    expect(node(page, "publish")).to_contain_text("succeeded")
    expect(page.locator("[data-execution-status] .badge")).to_have_text(re.compile("completed"))
    expect(page.locator("[data-timeline] tr").last).to_contain_text("completed")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    node(page, "publish").click()
    expect(page.locator("[data-node-output]")).to_contain_text("hello Ada")
    screenshot(page, "05-execution-completed")


def test_open_a_failed_nodes_error_by_keyboard_and_retry_it(page: Page, stack: Stack) -> None:
    definition = calls_flaky_endpoint(stack.http_server.url, unique("charge"))
    execution_id = api_run(stack, api_workflow(stack, definition, unique("checkout")))
    sign_in(page, stack)
    page.goto(f"/console/executions/{execution_id}")
    expect(node(page, "charge")).to_have_attribute("data-status", "failed")
    expect(node(page, "receipt")).to_have_attribute("data-status", re.compile("pending|skipped"))

    node(page, "charge").focus()
    page.keyboard.press("Enter")
    panel = page.locator("#node-panel")
    expect(panel.locator("[data-node-error]")).to_contain_text("400")
    expect(panel.locator(".attempts tbody tr")).to_have_count(1)
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(page, "06-execution-failed-node", full_page=False)

    page.get_by_role("button", name="Retry from failure").click()
    expect(page.get_by_role("status")).to_contain_text("Retrying")
    expect(node(page, "charge")).to_have_attribute("data-status", "succeeded")
    expect(node(page, "receipt")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("[data-execution-status] .badge")).to_have_text(re.compile("completed"))
    node(page, "charge").focus()
    page.keyboard.press("Space")
    expect(panel.locator(".attempts tbody tr")).to_have_count(2)


def test_send_a_signal_to_a_waiting_execution(page: Page, stack: Stack) -> None:
    execution_id = api_run(stack, api_workflow(stack, WAITS_FOR_GO, unique("approval")))
    sign_in(page, stack)
    page.goto(f"/console/executions/{execution_id}")
    expect(node(page, "wait")).to_have_attribute("data-status", "waiting")
    screenshot(page, "07-execution-waiting")
    page.get_by_label("Name", exact=True).fill("go")
    page.get_by_label(re.compile("^Payload")).fill('{"approved": true}')
    page.get_by_role("button", name="Send signal").click()
    expect(node(page, "after")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("[data-execution-status] .badge")).to_have_text(re.compile("completed"))
    node(page, "after").click()
    expect(page.locator("[data-node-output]")).to_contain_text('"approved": true')


def test_cancel_a_waiting_execution(page: Page, stack: Stack) -> None:
    execution_id = api_run(stack, api_workflow(stack, WAITS_FOR_GO, unique("cancel-me")))
    sign_in(page, stack)
    page.goto(f"/console/executions/{execution_id}")
    expect(node(page, "wait")).to_have_attribute("data-status", "waiting")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("[data-execution-status] .badge")).to_have_text(re.compile("cancelled"))
    expect(node(page, "wait")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_hidden()


def test_the_executions_list_updates_live_and_filters(page: Page, stack: Stack) -> None:
    workflow_id = api_workflow(stack, WAITS_FOR_GO, unique("list"))
    execution_id = api_run(stack, workflow_id)
    sign_in(page, stack)
    page.goto(f"/console/executions?workflow={workflow_id}")
    row = page.locator(f'tr[data-execution="{execution_id}"]')
    expect(row.locator(".badge")).to_have_text(re.compile("waiting"))
    expect(page.locator("[data-live-indicator]").first).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")
    with stack.api() as api:
        sent = api.post(f"/api/v1/executions/{execution_id}/signals/go", json={"ok": 1})
        assert sent.status_code == 202, sent.text
    expect(row.locator(".badge")).to_have_text(re.compile("completed"))
    api_run(stack, workflow_id)
    expect(page.locator("[data-new-rows]")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"

    page.goto("/console/executions")
    page.get_by_label(re.compile("failed")).check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator(f'tr[data-execution="{execution_id}"]')).to_have_count(0)
    page.goto("/console/executions")
    screenshot(page, "08-executions")
    page.goto("/console/workflows")
    screenshot(page, "02-workflows")


def test_a_forged_cross_site_form_is_refused(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    execution_id = api_run(stack, api_workflow(stack, WAITS_FOR_GO, unique("csrf")))
    response = page.request.post(
        f"/console/executions/{execution_id}/cancel", headers={"Origin": "http://evil.example"}
    )
    assert response.status == 403
    with stack.api() as api:
        status = api.get(f"/api/v1/executions/{execution_id}").json()["status"]
    assert status != "cancelled"
