"""The workflow builder in a real Chromium against a real API, worker and PostgreSQL:
build with the mouse only, with the keyboard only, see problems on their node before
saving, test-run on the canvas, read only for a viewer, and a 200-node graph's timings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Stack, screenshot
from tests.browser.test_console import api_workflow, sign_in, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def canvas_node(page: Page, node_id: str) -> Locator:
    return page.locator(f'#builder-canvas .bnode[data-node="{node_id}"]')


def definition(page: Page) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(page.locator("#definition").input_value())
    return document


def drop_kind(page: Page, title: str, x: int, y: int) -> None:
    page.locator(".palette-kind", has_text=title).drag_to(
        page.locator(".canvas-wrap"), target_position={"x": x, "y": y}
    )


def connect(page: Page, source: str, target: str) -> None:
    handle = canvas_node(page, source).locator(".handle-out")
    box = handle.bounding_box()
    goal = canvas_node(page, target).locator(".bnode-box").bounding_box()
    assert box is not None and goal is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(goal["x"] + 40, goal["y"] + 20, steps=8)
    page.mouse.up()


def open_new_builder(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    page.goto("/console/workflows/new")
    expect(page.get_by_role("tab", name="Canvas")).to_have_attribute("aria-selected", "true")


def test_the_builder_opens_on_the_canvas_with_the_starter(page: Page, stack: Stack) -> None:
    open_new_builder(page, stack)

    expect(canvas_node(page, "greet")).to_be_visible()
    expect(canvas_node(page, "done")).to_be_visible()
    expect(page.locator("#builder-canvas .bedge")).to_have_count(1)
    screenshot(page, "09-builder-starter")


def test_build_with_the_mouse_only_save_and_test_run_it(page: Page, stack: Stack) -> None:
    open_new_builder(page, stack)
    page.get_by_label("Name").fill(unique("built-by-mouse"))
    for node_id in ("greet", "done"):  # start from an empty canvas
        canvas_node(page, node_id).click()
        page.get_by_role("button", name="Delete node").click()
    expect(page.locator("#builder-canvas .bnode")).to_have_count(0)

    drop_kind(page, "Transform", 110, 90)
    drop_kind(page, "HTTP request", 300, 220)
    drop_kind(page, "Condition", 490, 90)
    expect(page.locator("#builder-canvas .bnode")).to_have_count(3)
    connect(page, "transform", "http_request")
    connect(page, "http_request", "condition")
    expect(page.locator("#builder-canvas .bedge")).to_have_count(2)

    canvas_node(page, "http_request").click()
    url = page.locator("#builder-panel").get_by_label("Url", exact=False).first
    url.fill(f"{stack.http_server.url}/json")
    canvas_node(page, "condition").click()
    panel = page.locator("#builder-panel")
    panel.locator("[data-item-field=if]").first.fill("nodes.http_request.output.status == 200")
    screenshot(page, "10-builder-mouse-built", full_page=False)

    page.get_by_role("button", name="Save and test").click()
    expect(page.locator("#test-status")).to_contain_text("Test run completed")
    for node_id in ("transform", "http_request", "condition"):
        expect(canvas_node(page, node_id)).to_have_attribute("data-status", "succeeded")
    expect(page).to_have_url(re.compile(r"/console/workflows/wf_[^/]+/edit$"))
    built = definition(page)
    assert [node["kind"] for node in built["nodes"]] == ["transform", "http_request", "condition"]
    assert built["edges"] == [
        {"from": "transform", "to": "http_request"},
        {"from": "http_request", "to": "condition"},
    ]
    assert all("x" in node["ui"] for node in built["nodes"])
    canvas_node(page, "http_request").click()
    expect(page.locator("#test-node")).to_contain_text("hello")
    screenshot(page, "11-builder-test-run", full_page=False)


def test_build_a_two_node_workflow_with_the_keyboard_only(page: Page, stack: Stack) -> None:
    open_new_builder(page, stack)
    page.get_by_label("Name").fill(unique("built-by-keyboard"))
    for node_id in ("greet", "done"):
        canvas_node(page, node_id).focus()
        page.keyboard.press("Delete")
    expect(page.locator("#builder-canvas .bnode")).to_have_count(0)

    page.get_by_label("Add", exact=True).select_option("delay")
    page.get_by_role("button", name="Add node").press("Enter")
    page.get_by_label("Add", exact=True).select_option("noop")
    page.get_by_role("button", name="Add node").press("Enter")
    page.get_by_label("From node").select_option("delay")
    page.get_by_label("To node").select_option("noop")
    page.get_by_role("button", name="Connect", exact=True).press("Enter")
    canvas_node(page, "delay").focus()
    page.keyboard.press("Enter")
    seconds = page.locator("#builder-panel [data-field=seconds]")
    seconds.fill("1")
    canvas_node(page, "delay").focus()
    page.keyboard.press("ArrowDown")

    expect(page.locator("#builder-canvas .bedge")).to_have_count(1)
    page.get_by_role("button", name="Create workflow").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Workflow created")
    with stack.api() as api:
        listed = api.get("/api/v1/workflows", params={"limit": 200}).json()["items"]
        made = next(item for item in listed if item["name"].startswith("built-by-keyboard"))
        document = api.get(f"/api/v1/workflows/{made['id']}").json()["definition"]
    assert [node["kind"] for node in document["nodes"]] == ["delay", "noop"]
    assert document["nodes"][0]["config"]["seconds"] == 1
    assert document["edges"] == [{"from": "delay", "to": "noop"}]


def test_a_broken_expression_shows_its_problem_on_its_node_before_saving(
    page: Page, stack: Stack
) -> None:
    open_new_builder(page, stack)
    canvas_node(page, "greet").click()
    page.locator("#builder-panel [data-field=output], #builder-panel [data-raw-config]").first.fill(
        '{"message": "hello {{ input.name + }}"}'
    )

    expect(canvas_node(page, "greet")).to_have_class(re.compile("has-problem"))
    expect(canvas_node(page, "done")).not_to_have_class(re.compile("has-problem"))
    expect(page.locator("#builder-problems")).to_contain_text("nodes[0].config")
    expect(page.locator("#builder-panel .field-problem:visible").first).to_be_visible()
    screenshot(page, "12-builder-problem-on-node", full_page=False)


def test_a_viewer_sees_the_canvas_read_only(page: Page, stack: Stack) -> None:
    workflow_id = api_workflow(stack, PAIR, unique("viewer-sees"))
    with stack.api() as api:
        viewer = api.post("/api/v1/tokens", json={"name": "v", "role": "viewer"}).json()["token"]
    page.goto("/console/workflows")
    page.get_by_label("Token").fill(viewer)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/workflows/{workflow_id}/edit")

    expect(canvas_node(page, "first")).to_be_visible()
    expect(page.get_by_role("button", name="Create workflow")).to_have_count(0)
    expect(page.get_by_role("button", name="Save new version")).to_have_count(0)
    expect(page.locator(".palette")).to_have_count(0)
    expect(page.locator("#builder-canvas .handle-out")).to_have_count(0)
    canvas_node(page, "first").click()
    expect(page.locator("#builder-panel input").first).to_be_disabled()


PAIR = {
    "nodes": [
        {"id": "first", "kind": "transform", "config": {"output": {"n": 1}}},
        {"id": "second", "kind": "noop"},
    ],
    "edges": [{"from": "first", "to": "second"}],
}


def test_two_hundred_nodes_render_and_drag_and_the_timings_are_printed(
    page: Page, stack: Stack
) -> None:
    nodes = [{"id": f"n{i}", "kind": "noop"} for i in range(200)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(0, 199) if i % 10 != 9]
    workflow_id = api_workflow(stack, {"nodes": nodes, "edges": edges}, unique("big"))
    sign_in(page, stack)
    page.goto(f"/console/workflows/{workflow_id}/edit")
    expect(page.locator("#builder-canvas .bnode")).to_have_count(200)
    rendered = page.evaluate("window.__builderTimings.render")

    dragged = page.evaluate(
        """() => {
          const canvas = window.__builder.canvas;
          const started = performance.now();
          for (let step = 0; step < 60; step++) {
            const node = canvas.model.node("n0");
            node.ui = { x: (node.ui ? node.ui.x : 0) + 2, y: 0 };
            canvas.moveDrawn("n0");
          }
          const drawn = document.querySelector('#builder-canvas .bnode[data-node="n0"]');
          return {
            step: (performance.now() - started) / 60,
            x: canvas.model.node("n0").ui.x,
            transform: drawn.getAttribute("transform"),
          };
        }"""
    )
    print(
        f"\nbuilder, 200 nodes: first render {rendered:.0f} ms,"
        f" one drag step {dragged['step']:.2f} ms"
    )
    # The timings are printed, not asserted; that the drag moved the drawn node is.
    assert dragged["x"] == 120
    assert dragged["transform"] == "translate(120,0)"


COMMENTED_YAML = """\
# Greets, then stops.
nodes:
  - id: greet          # the only real step
    kind: transform
    config:
      output: {message: "hello {{ input.name }}"}
  - id: done
    kind: noop
edges:
  - {from: greet, to: done}
"""


def test_a_yaml_definition_with_comments_round_trips_byte_for_byte(
    page: Page, stack: Stack
) -> None:
    name = unique("commented")
    with stack.api() as api:
        created = api.post("/api/v1/workflows", json={"name": name, "source": COMMENTED_YAML})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
    sign_in(page, stack)
    page.goto(f"/console/workflows/{workflow_id}/edit")
    expect(canvas_node(page, "greet")).to_be_visible()

    page.get_by_role("tab", name="Source").click()
    assert page.locator("#definition").input_value() == COMMENTED_YAML
    page.get_by_role("button", name="Save new version").click()
    expect(page).to_have_url(re.compile(rf"/console/workflows/{workflow_id}"))

    with stack.api() as api:
        versions = api.get(f"/api/v1/workflows/{workflow_id}/versions").json()
        latest = api.get(f"/api/v1/workflows/{workflow_id}").json()
    assert len(versions) == 1, "saving the same text made no new version"
    assert latest["source"] == COMMENTED_YAML
