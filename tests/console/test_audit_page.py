"""The console's audit log page (admins) and who did what on an execution's page; changes
made through the console are recorded with the signed-in token."""

from __future__ import annotations

import re

from tests.api.workflows import WAITS_FOR_GO
from tests.console.conftest import Console


def rows(page: str) -> list[str]:
    """The text of each entry row of the audit table, tags stripped."""
    found = re.findall(r"<tr data-audit-entry=\"\d+\">(.*?)</tr>", page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def who_did_what(page: str) -> list[str]:
    section = re.search(r"<section [^>]*data-changes>(.*?)</section>", page, re.S)
    if section is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


async def start_and_cancel(console: Console) -> str:
    """As the editor: a waiting workflow run from its page, then cancelled."""
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(WAITS_FOR_GO, name="waits")
    started = await console.post(f"/console/workflows/{workflow_id}/run", input="{}")
    assert started.status_code == 303, started.text
    execution_id = str(started.headers["location"]).split("?")[0].rsplit("/", 1)[1]
    cancelled = await console.post(f"/console/executions/{execution_id}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    return execution_id


async def test_an_admin_sees_console_changes_with_the_token_that_made_them(
    console: Console,
) -> None:
    execution_id = await start_and_cancel(console)
    await console.sign_in("a_admin")

    page = await console.client.get("/console/audit")

    assert page.status_code == 200
    assert 'href="/console/audit"' in page.text  # the admin's nav link
    listed = rows(page.text)
    assert any("execution.cancelled" in row and execution_id in row for row in listed)
    cancelled = next(row for row in listed if "execution.cancelled" in row)
    assert cancelled.startswith(tuple("0123456789")) and "editor token" in cancelled
    assert any("workflow.created" in row and "editor" in row for row in listed)


async def test_the_filters_narrow_the_entries(console: Console) -> None:
    execution_id = await start_and_cancel(console)
    await console.sign_in("a_admin")

    by_action = await console.client.get("/console/audit", params={"action": "run.started"})
    by_object = await console.client.get("/console/audit", params={"object": execution_id})
    later = await console.client.get("/console/audit", params={"since": "2999-01-01T00:00"})

    assert [row.split()[5] for row in rows(by_action.text)] == ["run.started"]
    assert {row.split()[5] for row in rows(by_object.text)} == {
        "run.started",
        "execution.cancelled",
    }
    assert rows(later.text) == []
    assert "No audit entries match." in later.text


async def test_only_admins_have_the_audit_page(console: Console) -> None:
    for who in ("a_editor", "a_viewer"):
        await console.sign_in(who)
        page = await console.client.get("/console/audit")
        home = await console.client.get("/console/executions")
        assert page.status_code == 403, who
        assert 'href="/console/audit"' not in home.text


async def test_the_execution_page_says_who_started_and_cancelled_it(console: Console) -> None:
    execution_id = await start_and_cancel(console)
    await console.sign_in("a_admin")

    page = await console.client.get(f"/console/executions/{execution_id}")
    await console.sign_in("a_editor")
    as_editor = await console.client.get(f"/console/executions/{execution_id}")

    said = who_did_what(page.text)
    assert [line.split(" · ")[0] for line in said] == [
        "token editor started it",
        "token editor cancelled it",
    ]
    # Who changed what they can see is every member's; the whole log stays the admins'.
    assert who_did_what(as_editor.text) == said
