"""The editor's palette of node kinds in a real Chromium: a kind from the example package
(installed with the suite) is listed with its form; filling the form adds the node to the
definition, and the workflow saved from it runs on the worker."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import Stack, screenshot
from tests.browser.test_console import node, sign_in, unique
from tests.support.api_stack import wait_until

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def worker_has(stack: Stack, kind: str) -> bool:
    with stack.api() as api:
        listed = api.get("/api/v1/node-kinds").json()
    return any(item["kind"] == kind and item["last_seen_at"] for item in listed)


def test_add_an_installed_kind_from_the_palette_and_run_it(page: Page, stack: Stack) -> None:
    wait_until(lambda: worker_has(stack, "text.slugify"), "the worker to register its kinds")
    sign_in(page, stack)
    page.get_by_role("link", name="New workflow").click()
    definition = page.get_by_label(re.compile("^Definition"))
    definition.fill("")

    page.get_by_role("button", name=re.compile("^Slugify")).click()
    form = page.locator("#palette-form")
    expect(form.get_by_role("heading")).to_have_text("Add a Slugify node")
    # The fields come in the order the kind's config model declares them.
    expect(form.locator("label")).to_have_text(
        ["Node id", "Text", "Separator (optional)", "Max Length (optional)"]
    )
    expect(form.get_by_label("Max Length")).to_have_value("80")
    form.get_by_label("Text").fill("{{ input.title }}")
    form.get_by_label("Node id").fill("slug")
    screenshot(page, "08-editor-palette-form")
    form.get_by_role("button", name="Add node").click()
    expect(page.get_by_role("status").last).to_contain_text("Added node slug")

    added = json.loads(definition.input_value())
    assert added["nodes"] == [
        {
            "id": "slug",
            "kind": "text.slugify",
            "config": {"text": "{{ input.title }}", "separator": "-", "max_length": 80},
        }
    ]
    page.get_by_label("Name").fill(unique("slugs"))
    page.get_by_role("button", name="Create workflow").click()
    expect(page.get_by_role("status").first).to_contain_text("Workflow created")

    page.get_by_label("Input").first.fill('{"title": "Crème Brûlée, 3 ways"}')
    page.get_by_role("button", name="Run latest version").click()
    expect(node(page, "slug")).to_have_attribute("data-status", "succeeded")
    node(page, "slug").click()
    expect(page.locator("[data-node-output]")).to_contain_text("creme-brulee-3-ways")


def test_a_form_refuses_a_definition_that_is_not_json(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label(re.compile("^Definition")).fill("nodes:\n  - id: a\n    kind: noop\n")

    page.get_by_role("button", name=re.compile("^No-op")).click()
    page.locator("#palette-form").get_by_role("button", name="Add node").click()

    expect(page.locator("#palette-form [role=alert]")).to_contain_text(
        "needs the definition as JSON"
    )
    expect(page.get_by_label(re.compile("^Definition"))).to_have_value(
        "nodes:\n  - id: a\n    kind: noop\n"
    )
