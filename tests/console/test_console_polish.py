"""The console's rough edges, filed down: archiving a workflow, comparing two versions,
the executions list's trigger and error columns, search and date filters, links between
parent and child executions, the console's own 404 page, and one time format."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from domain.execution import Execution, ParentLink
from domain.status import ExecutionStatus
from entrypoints.api.app import create_app
from entrypoints.console.presentation import error_summary, origin_of
from tests.api.conftest import api_settings, issue_tokens, memory_runtime
from tests.api.workflows import CHOOSES, ECHO
from tests.console.conftest import BASE
from tests.console.test_console_children import FAN_OUT, Runs

TIME = re.compile(r'<time datetime="[^"]+">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)</time>')
ANY_CLOCK = re.compile(r"\d\d:\d\d(:\d\d)?")


@pytest.fixture
async def console() -> AsyncIterator[Runs]:
    settings = api_settings()
    runtime, _ = await memory_runtime(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app, base_url=BASE) as client:
        client.follow_redirects = False
        yield Runs(client, tokens, runtime)
    await runtime.close()


async def run(console: Runs, workflow_id: str, given: Any = None) -> str:
    started = await console.post(f"/console/workflows/{workflow_id}/run", input=json.dumps(given))
    assert started.status_code == 303, started.text
    await console.drain()
    return str(started.headers["location"]).split("?")[0].rsplit("/", 1)[1]


async def new_version(console: Runs, workflow_id: str, definition: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {console.tokens['a_editor']}"}
    saved = await console.client.put(
        f"/api/v1/workflows/{workflow_id}", json={"definition": definition}, headers=auth
    )
    assert saved.status_code == 200, saved.text


def row_of(page: str, execution_id: str) -> str:
    return page.split(f'<tr data-execution="{execution_id}">', 1)[1].split("</tr>", 1)[0]


# ---- Archive ---------------------------------------------------------------------------


async def test_an_editor_archives_a_workflow_which_then_says_so_and_cannot_run(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO, name="to-archive")
    page = await console.page(f"/console/workflows/{workflow_id}")
    assert f'action="/console/workflows/{workflow_id}/archive"' in page
    assert "data-confirm=" in page.split("/archive", 1)[1].split(">", 1)[0]

    archived = await console.post(f"/console/workflows/{workflow_id}/archive")

    assert archived.status_code == 303
    assert archived.headers["location"] == f"/console/workflows/{workflow_id}?notice=archived"
    page = await console.page(f"/console/workflows/{workflow_id}?notice=archived")
    assert "data-archived-note" in page and "data-archived" in page
    assert "Run latest version" not in page
    assert f"/console/workflows/{workflow_id}/archive" not in page
    refused = await console.post(f"/console/workflows/{workflow_id}/run", input="{}")
    assert refused.status_code == 404
    listed = await console.page("/console/workflows")
    assert f"/console/workflows/{workflow_id}" not in listed


async def test_a_viewer_sees_no_archive_button_and_cannot_archive(console: Runs) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    await console.sign_in("a_viewer")
    page = await console.page(f"/console/workflows/{workflow_id}")
    assert "/archive" not in page
    refused = await console.post(f"/console/workflows/{workflow_id}/archive")
    assert refused.status_code == 403
    await console.sign_in("a_editor")
    assert "data-archived-note" not in await console.page(f"/console/workflows/{workflow_id}")


# ---- Version diff ----------------------------------------------------------------------

V1: dict[str, Any] = {"nodes": [{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop"}]}
V3: dict[str, Any] = {
    "nodes": [{"id": "a", "kind": "noop", "name": "First"}, {"id": "c", "kind": "noop"}]
}


def diff_rows(page: str) -> list[tuple[str, str, str]]:
    """(change, left text, right text) for each row of the diff table."""
    body = page.split("data-diff>", 1)[1]
    rows = re.findall(r'<tr class="diff-\w+" data-change="(\w+)">(.*?)</tr>', body, re.S)
    found = []
    for change, cells in rows:
        texts = re.findall(r'<td class="text (?:left|right)">(.*?)</td>', cells, re.S)
        left, right = (html.unescape(re.sub(r"<[^>]+>", "", text)) for text in texts)
        found.append((change, left, right))
    return found


async def test_two_versions_side_by_side_with_each_change_marked_in_words(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(V1, name="diffed")
    await new_version(console, workflow_id, {**V1, "edges": [{"from": "a", "to": "b"}]})
    await new_version(console, workflow_id, V3)
    page = await console.page(f"/console/workflows/{workflow_id}")
    assert f'action="/console/workflows/{workflow_id}/diff"' in page
    assert '<option value="2" selected>v2</option>' in page  # from: the one before
    assert '<option value="3" selected>v3</option>' in page  # to: the latest

    page = await console.page(f"/console/workflows/{workflow_id}/diff?from=1&to=3")

    rows = diff_rows(page)
    changed = [row for row in rows if row[0] != "same"]
    assert ("same", '"id": "a",', '"id": "a",') in [
        (c, left.strip(), right.strip()) for c, left, right in rows
    ]
    right_added = [r.strip() for c, _, r in changed if c in {"added", "changed"}]
    left_removed = [left.strip() for c, left, _ in changed if c in {"removed", "changed"}]
    assert any(line.startswith('"name": "First"') for line in right_added)
    assert '"id": "c",' in right_added
    assert '"id": "b",' in left_removed
    assert '"id": "c",' not in left_removed
    # Changes are named in text too, never by colour alone.
    for change, _, _ in changed:
        assert f'<span class="visually-hidden">{change}' in page
    summary = page.split("data-diff-summary>", 1)[1].split("</p>", 1)[0]
    added = sum(1 for c, _, _ in rows if c == "added")
    assert f"{added} added" in summary
    assert "v1 → v3" in page


async def test_the_diff_defaults_to_the_latest_two_and_says_when_they_are_the_same(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(V1)
    await new_version(console, workflow_id, V3)
    page = await console.page(f"/console/workflows/{workflow_id}/diff")
    assert "v1 → v2" in page
    assert "The two definitions are the same" not in page
    same = await console.page(f"/console/workflows/{workflow_id}/diff?from=2&to=2")
    assert "The two definitions are the same" in same
    assert all(row[0] == "same" for row in diff_rows(same))
    missing = await console.client.get(f"/console/workflows/{workflow_id}/diff?from=1&to=9")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "no version 9" in missing.text


# ---- Executions list -------------------------------------------------------------------


async def test_the_list_shows_each_runs_trigger_and_a_failed_runs_error(console: Runs) -> None:
    await console.sign_in("a_editor")
    parent_path = await console.fan_out(2)
    parent_id = parent_path.rsplit("/", 1)[1]
    failing = await console.workflow(CHOOSES, name="chooses")
    failed_id = await run(console, failing, {"flag": False})
    rerun = await console.post(f"/console/executions/{failed_id}/rerun")
    rerun_id = str(rerun.headers["location"]).split("?")[0].rsplit("/", 1)[1]
    await console.drain()

    page = await console.page("/console/executions")

    header = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert ">Trigger<" in header and ">Error<" in header
    assert 'data-trigger="manual"' in row_of(page, parent_id)
    assert "manual or API" in row_of(page, parent_id)
    rerun_row = row_of(page, rerun_id)
    assert 'data-trigger="rerun"' in rerun_row
    assert f'href="/console/executions/{failed_id}"' in rerun_row
    failed_row = row_of(page, failed_id)
    error = failed_row.split("<td data-error>", 1)[1].split("</td>", 1)[0]
    assert 'class="error-kind"' in error
    assert "—" not in error
    assert '<span class="muted">—</span>' in row_of(page, parent_id)
    children = await console.page(f"/console/executions?parent={parent_id}")
    items = re.findall(r'data-trigger="item"><a href="([^"]+)">for-each item (\d)', children)
    assert items == [(f"/console/executions/{parent_id}?node=each#node-panel", i) for i in "01"]
    assert 'data-trigger="sub_workflow"' in children
    assert f'<tr data-execution="{parent_id}">' not in children
    assert "data-parent-filter" in children


async def test_a_webhook_run_names_its_trigger(console: Runs) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    auth = {"Authorization": f"Bearer {console.tokens['a_editor']}"}
    created = await console.client.post(
        "/api/v1/triggers",
        json={"workflow_id": workflow_id, "name": "Form posts", "input": {"x": 1}},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    accepted = await console.client.post(f"/hooks/{created.json()['id']}", json={})
    assert accepted.status_code == 202, accepted.text
    execution_id = accepted.json()["execution_id"]
    by_hand = await run(console, workflow_id, {"x": 2})

    page = await console.page("/console/executions")

    hook_row = row_of(page, execution_id)
    assert 'data-trigger="webhook"' in hook_row and "webhook Form posts" in hook_row
    assert f'href="/console/workflows/{workflow_id}#triggers"' in hook_row
    assert 'data-trigger="manual"' in row_of(page, by_hand)
    execution = await console.page(f"/console/executions/{execution_id}")
    assert "started by <a" in execution and "webhook Form posts" in execution


def test_a_scheduled_run_and_children_are_told_apart_by_their_fields() -> None:
    now = datetime.now(UTC)
    base = Execution("ex_1", "ws", "wf_1", 1, ExecutionStatus.COMPLETED, None, now)
    scheduled = origin_of(Execution(**{**base.__dict__, "schedule_id": "sc_1"}))
    assert (scheduled.kind, scheduled.href) == ("schedule", "/console/workflows/wf_1#schedules")
    item = origin_of(Execution(**{**base.__dict__, "parent": ParentLink("ex_0", "each", 4)}))
    assert (item.kind, item.text) == ("item", "for-each item 4 of each")
    assert origin_of(base).kind == "manual"
    long = error_summary({"kind": "http_error", "message": "x" * 300})
    assert long["kind"] == "http_error" and len(long["message"]) == 80
    assert long["full"] == "x" * 300


async def test_an_exact_id_opens_the_execution_and_an_unknown_one_says_so(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    execution_id = await run(console, workflow_id, {"x": 1})

    found = await console.client.get(f"/console/executions?id=+{execution_id}+")

    assert found.status_code == 303
    assert found.headers["location"] == f"/console/executions/{execution_id}"
    missing = await console.page(f"/console/executions?id={execution_id[:-2]}")
    assert "data-no-such-id" in missing
    assert f'<tr data-execution="{execution_id}">' not in missing
    await console.sign_in("b_admin")
    other = await console.page(f"/console/executions?id={execution_id}")
    assert "data-no-such-id" in other  # another workspace's id is not found either


async def test_the_date_filter_takes_whole_utc_days(console: Runs) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    execution_id = await run(console, workflow_id, {"x": 1})
    today = datetime.now(UTC).date()
    row = f'<tr data-execution="{execution_id}">'

    same_day = await console.page(f"/console/executions?created_from={today}&created_to={today}")
    later = await console.page(f"/console/executions?created_from={today + timedelta(days=1)}")
    earlier = await console.page(f"/console/executions?created_to={today - timedelta(days=1)}")

    assert row in same_day
    assert f'value="{today}"' in same_day  # the form keeps the dates
    assert row not in later and "match these filters" in later
    assert row not in earlier
    bad = await console.client.get("/console/executions?created_from=yesterday")
    assert bad.status_code == 422
    assert "is not a date" in bad.text


# ---- Parent and child links ------------------------------------------------------------


async def test_nodes_link_to_their_children_and_children_back_to_the_parent_node(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    parent_path = await console.fan_out(2)
    parent_id = parent_path.rsplit("/", 1)[1]
    listed = await console.page(f"/console/executions?parent={parent_id}")
    once_child = re.findall(
        r'<tr data-execution="(ex_\w+)">(?:(?!</tr>).)*data-trigger="sub_workflow"', listed, re.S
    )[0]

    each_panel = await console.page(f"{parent_path}/nodes/each")
    once_panel = await console.page(f"{parent_path}/nodes/once")
    full_page = await console.page(f"{parent_path}?node=once")

    each_links = each_panel.split("data-child-links>", 1)[1].split("</p>", 1)[0]
    assert f'href="/console/executions?parent={parent_id}"' in each_links
    assert each_links.strip().startswith("2 item executions")
    once_links = once_panel.split("data-child-links>", 1)[1].split("</p>", 1)[0]
    assert f'href="/console/executions/{once_child}"' in once_links
    assert "data-child-links" in full_page
    assert f'href="/console/executions?parent={parent_id}" data-all-children' in full_page
    child = await console.page(f"/console/executions/{once_child}")
    back = child.split("data-parent-link>", 1)[1].split("</span>", 1)[0]
    assert f'href="/console/executions/{parent_id}?node=once#node-panel"' in back
    assert "node once" in back


# ---- The console's 404 -----------------------------------------------------------------

UNKNOWN_PATHS = [
    "/console/nope",
    "/console/executions/ex_nope/unknown",
    "/console/executions/ex_nope/nodes",
    "/console/workflows/wf_nope/diff/more",
    "/console/a/b/c",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
async def test_an_unknown_console_path_is_the_consoles_404_page(console: Runs, path: str) -> None:
    await console.sign_in("a_viewer")
    answer = await console.client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-error-page="404"' in answer.text
    assert 'class="mainnav"' in answer.text  # the navigation, as on every page
    assert 'href="/console/executions" class="button primary">Console home' in answer.text


async def test_unknown_ids_are_the_404_page_and_the_api_keeps_its_json(console: Runs) -> None:
    await console.sign_in("a_viewer")
    for path in ("/console/executions/ex_nope", "/console/workflows/wf_nope"):
        answer = await console.client.get(path)
        assert answer.status_code == 404
        assert 'data-error-page="404"' in answer.text and 'class="mainnav"' in answer.text
    posted = await console.post("/console/nope")
    assert posted.status_code == 404 and 'data-error-page="404"' in posted.text
    api = await console.client.get("/api/v1/nope")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    console.client.cookies.clear()
    signed_out = await console.client.get("/console/nope")
    assert signed_out.status_code == 404 and 'data-error-page="404"' in signed_out.text
    assert 'class="mainnav"' not in signed_out.text


# ---- One time format -------------------------------------------------------------------


async def test_every_page_writes_times_one_way(console: Runs) -> None:
    await console.sign_in("a_editor")
    parent_path = await console.fan_out(1)
    execution_page = await console.page(parent_path)
    workflow_id = re.findall(r'href="/console/workflows/(wf_\w+)\?version', execution_page)[0]
    await new_version(console, workflow_id, FAN_OUT)
    pages = {
        "workflows": "/console/workflows",
        "workflow": f"/console/workflows/{workflow_id}",
        "diff": f"/console/workflows/{workflow_id}/diff",
        "executions": "/console/executions",
        "execution": f"{parent_path}?node=each",
        "node panel": f"{parent_path}/nodes/each",
    }
    for name, path in pages.items():
        page = await console.page(path)
        stamps = TIME.findall(page)
        assert stamps, f"no time on the {name} page"
        clocks = len(ANY_CLOCK.findall(re.sub(r'datetime="[^"]+"', "", page)))
        assert clocks == len(stamps), f"a time in another format on the {name} page"
