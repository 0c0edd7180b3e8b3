"""The execution page names what a child execution is to its parent (an item of a
`for_each` node, or a sub-workflow), and lists the children of an execution."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from application.worker_loop import WorkerLoop, WorkerSettings
from entrypoints.api.app import create_app
from entrypoints.console import execution_pages
from entrypoints.runtime import Runtime
from tests.api.conftest import api_settings, issue_tokens, memory_runtime
from tests.console.conftest import BASE, Console

DOUBLE: dict[str, Any] = {
    "nodes": [{"id": "double", "kind": "transform", "config": {"output": "{{ input.n * 2 }}"}}]
}
FAN_OUT: dict[str, Any] = {
    "nodes": [
        {
            "id": "each",
            "kind": "for_each",
            "config": {
                "items": "{{ range(input.count) | list }}",
                "workflow": "double",
                "input": {"n": "{{ item }}"},
            },
        },
        {"id": "once", "kind": "sub_workflow", "config": {"workflow": "double", "input": {"n": 1}}},
    ],
    "edges": [],
}


class Runs(Console):
    """A console whose runtime the test drains."""

    def __init__(
        self, client: AsyncTestClient[Any], tokens: dict[str, str], runtime: Runtime
    ) -> None:
        super().__init__(client, tokens)
        self.runtime = runtime

    async def drain(self) -> None:
        runtime = self.runtime
        settings = WorkerSettings(worker_id="test-worker")
        loop = WorkerLoop(settings, runtime.queue, runtime.engine.runner(), runtime.clock)
        await loop.run_until_idle()

    async def fan_out(self, count: int) -> str:
        await self.workflow(DOUBLE, name="double")
        workflow_id = await self.workflow(FAN_OUT, name="fan")
        started = await self.post(
            f"/console/workflows/{workflow_id}/run", input=json.dumps({"count": count})
        )
        assert started.status_code == 303, started.text
        await self.drain()
        return str(started.headers["location"]).split("?")[0]

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return str(response.text)


@pytest.fixture
async def runs() -> AsyncIterator[Runs]:
    settings = api_settings()
    runtime, _ = await memory_runtime(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app, base_url=BASE) as client:
        client.follow_redirects = False
        yield Runs(client, tokens, runtime)
    await runtime.close()


def child_rows(page: str) -> list[tuple[str, str, str, str]]:
    """(node, item, status, execution id) for each row of the page's Children section."""
    section = page.split("data-children", 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r'<tr data-child="(ex_\w+)">\s*<td class="mono">(\w+)</td>\s*'
        r'<td class="num">([^<]*)</td>.*?data-status="(\w+)"',
        section,
        re.S,
    )
    return [(node, item, status, child) for child, node, item, status in rows]


async def test_a_parent_lists_its_items_in_order_and_its_sub_workflow(runs: Runs) -> None:
    await runs.sign_in("a_admin")
    parent_path = await runs.fan_out(3)

    rows = child_rows(await runs.page(parent_path))

    assert [row[:3] for row in rows] == [
        ("each", "0", "completed"),
        ("each", "1", "completed"),
        ("each", "2", "completed"),
        ("once", "—", "completed"),
    ]
    page = await runs.page(f"/console/executions/{rows[1][3]}")
    parent_id = parent_path.rsplit("/", 1)[1]
    link = page.split("data-parent-link>", 1)[1].split("</span>", 1)[0]
    assert link.startswith("item 1 of node each of ")
    assert f'href="/console/executions/{parent_id}"' in link
    sub = await runs.page(f"/console/executions/{rows[3][3]}")
    assert "sub-workflow of node once of " in sub
    assert "data-children" not in sub  # no children, no section


async def test_past_the_limit_the_first_children_are_shown_with_a_pointer_to_all(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_pages, "CHILDREN_SHOWN", 2)
    await runs.sign_in("a_admin")
    page = await runs.page(await runs.fan_out(3))
    assert [row[:2] for row in child_rows(page)] == [("each", "0"), ("each", "1")]
    assert "data-more-children" in page
    assert "parent_execution_id=" in page


async def test_a_top_level_run_without_children_has_neither(runs: Runs) -> None:
    await runs.sign_in("a_admin")
    workflow_id = await runs.workflow(DOUBLE, name="double")
    started = await runs.post(f"/console/workflows/{workflow_id}/run", input='{"n": 2}')
    await runs.drain()
    page = await runs.page(str(started.headers["location"]).split("?")[0])
    assert "data-parent-link" not in page
    assert "data-children" not in page
