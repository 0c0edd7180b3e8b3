"""The workflow page lists its webhook triggers, their URLs and their recent deliveries."""

from __future__ import annotations

import re

from tests.api.workflows import ECHO
from tests.console.conftest import Console


async def test_the_workflow_page_lists_triggers_with_their_url_and_deliveries(
    console: Console,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    auth = {"Authorization": f"Bearer {console.tokens['a_editor']}"}
    created = await console.client.post(
        "/api/v1/triggers",
        json={"workflow_id": workflow_id, "name": "Form posts", "input": {"x": "{{ body.x }}"}},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    trigger = created.json()
    accepted = await console.client.post(f"/hooks/{trigger['id']}", json={"x": 1})
    refused = await console.client.post(
        f"/hooks/{trigger['id']}", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert (accepted.status_code, refused.status_code) == (202, 400)
    page = await console.client.get(f"/console/workflows/{workflow_id}")
    assert page.status_code == 200
    html = page.text
    assert "Form posts" in html
    assert f'value="{trigger["url"]}"' in html
    assert f'data-copy="hook-{trigger["id"]}"' in html
    execution_id = accepted.json()["execution_id"]
    assert f'href="/console/executions/{execution_id}"' in html
    statuses = re.findall(r'<span class="badge status-\w+">(\d{3})</span>', html)
    assert statuses == ["400", "202"]
    assert "invalid_body" in html


async def test_a_workflow_without_triggers_says_how_to_make_one(console: Console) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    await console.sign_in("a_viewer")
    page = await console.client.get(f"/console/workflows/{workflow_id}")
    assert "No triggers." in page.text
