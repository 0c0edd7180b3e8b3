"""The console names who made each change: an execution's page lists its changes (who
started, signalled, cancelled, retried or re-ran it), a workflow's page who made each
version, and the audit page shows a person as a person."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from application.audit import Actor, AuditAction, record_change
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.api.app import create_app
from tests.api.conftest import api_settings, issue_tokens, memory_runtime
from tests.api.workflows import CHOOSES, ECHO, WAITS_FOR_GO
from tests.console.conftest import BASE
from tests.console.test_console_children import Runs


@pytest.fixture
async def console() -> AsyncIterator[Runs]:
    """A console whose runtime the test drains and writes to."""
    settings = api_settings()
    runtime, _ = await memory_runtime(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app, base_url=BASE) as client:
        client.follow_redirects = False
        yield Runs(client, tokens, runtime)
    await runtime.close()


def plain(fragment: str) -> str:
    """The text of an HTML fragment, tags stripped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def changes(page: str) -> list[str]:
    """The execution page's changes, oldest first, each without its time."""
    section = re.search(r"<section [^>]*data-changes>(.*?)</section>", page, re.S)
    if section is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(1), re.S)
    return [plain(item).split(" · ")[0] for item in items]


def versions(page: str) -> list[str]:
    """The workflow page's versions, newest first, each without its time."""
    section = page.split('id="versions-title"', 1)[1].split("</ol>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", section, re.S)
    return [plain(item).rsplit(" · ", 1)[0] for item in items]


def execution_of(response: Any) -> str:
    """The execution a console action redirected to."""
    return str(response.headers["location"]).split("?")[0].rsplit("/", 1)[1]


async def start(console: Runs, workflow_id: str, given: object = None) -> str:
    """Run the workflow from its page and let the worker take it as far as it goes."""
    started = await console.post(f"/console/workflows/{workflow_id}/run", input=json.dumps(given))
    assert started.status_code == 303, started.text
    await console.drain()
    return execution_of(started)


async def page(console: Runs, path: str) -> str:
    """The page's HTML, which must be there."""
    response = await console.client.get(path)
    assert response.status_code == 200, response.text
    return str(response.text)


async def test_the_execution_page_lists_who_started_signalled_and_cancelled_it(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(WAITS_FOR_GO, name="waits")
    execution_id = await start(console, workflow_id)
    signalled = await console.post(f"/console/executions/{execution_id}/signal", name="nudge")
    cancelled = await console.post(f"/console/executions/{execution_id}/cancel")
    assert (signalled.status_code, cancelled.status_code) == (303, 303)
    await console.sign_in("a_admin")

    shown = await page(console, f"/console/executions/{execution_id}")

    assert changes(shown) == [
        "token editor started it",
        "token editor sent the signal nudge",
        "token editor cancelled it",
    ]
    assert '<time datetime="' in shown.split("data-changes", 1)[1].split("</section>", 1)[0]


async def test_a_retry_and_a_re_run_are_listed_with_the_token_that_made_them(
    console: Runs,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(CHOOSES, name="chooses")
    failed = await start(console, workflow_id, {"flag": False})
    retried = await console.post(f"/console/executions/{failed}/retry")
    assert retried.status_code == 303, retried.text
    await console.drain()
    await console.sign_in("a_admin")
    rerun = await console.post(f"/console/executions/{failed}/rerun")
    assert rerun.status_code == 303, rerun.text

    original = await page(console, f"/console/executions/{failed}")
    again = await page(console, f"/console/executions/{execution_of(rerun)}")

    assert changes(original) == ["token editor started it", "token editor retried it from failure"]
    assert changes(again) == [f"token admin started it as a re-run of {failed}"]
    assert f'href="/console/executions/{failed}"' in again.split("data-changes", 1)[1]


async def test_a_person_s_change_is_shown_by_their_name(console: Runs) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(WAITS_FOR_GO, name="waits")
    execution_id = await start(console, workflow_id)
    workspace = await console.runtime.services.ensure_workspace()(EnsureWorkspace("workspace-a"))
    async with console.runtime.uow_factory() as uow:
        await record_change(
            uow,
            workspace.id,
            console.runtime.clock.now(),
            Actor.user("usr_ada", "Ada Lovelace"),
            AuditAction.SIGNAL_SENT,
            execution_id,
            {"name": "go"},
        )
        await uow.commit()
    await console.sign_in("a_admin")

    shown = await page(console, f"/console/executions/{execution_id}")
    audit = await page(console, "/console/audit")

    assert changes(shown) == ["token editor started it", "Ada Lovelace sent the signal go"]
    assert 'data-actor="user"' in shown
    row = next(r for r in re.findall(r"<tr data-audit-entry.*?</tr>", audit, re.S) if "usr_" in r)
    assert plain(row).split()[2:6] == ["Ada", "Lovelace", "person", "usr_ada"]


async def test_each_version_names_the_token_that_made_it(console: Runs) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(ECHO, name="echo")
    auth = {"Authorization": f"Bearer {console.tokens['a_editor']}"}
    saved = await console.client.put(
        f"/api/v1/workflows/{workflow_id}", json={"definition": WAITS_FOR_GO}, headers=auth
    )
    assert saved.status_code == 200, saved.text

    shown = await page(console, f"/console/workflows/{workflow_id}")

    assert versions(shown) == ["v2 · by token editor", "v1 · by token admin"]


async def test_a_viewer_sees_who_made_a_change_but_not_the_audit_log(console: Runs) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(WAITS_FOR_GO, name="waits")
    execution_id = await start(console, workflow_id)
    await console.sign_in("a_viewer")

    shown = await page(console, f"/console/executions/{execution_id}")
    workflow = await page(console, f"/console/workflows/{workflow_id}")

    assert changes(shown) == ["token editor started it"]
    assert versions(workflow) == ["v1 · by token editor"]
    assert (await console.client.get("/console/audit")).status_code == 403
