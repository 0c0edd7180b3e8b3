"""The iter_* helpers against a real API: every item of a paged listing, in the listing's
order, each page read only when the previous one is used up, filters kept on every page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import islice

from tests.api.workflows import ECHO
from tests.client.conftest import Recording, Served
from treadle_client import AsyncClient, Client, RunSpec


async def every_page_of_workflows(client: AsyncClient, size: int) -> list[str]:
    ids, cursor = [], None
    while True:
        page = await client.list_workflows(limit=size, cursor=cursor)
        ids += [workflow.id for workflow in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


async def test_iter_workflows_reads_each_page_only_when_needed(served: Served) -> None:
    recording = Recording()
    async with AsyncClient(served.url, served.token(), transport=recording) as client:
        for number in range(7):
            await client.create_workflow(f"flow-{number}", ECHO)
        listed = await every_page_of_workflows(client, 3)
        recording.sent.clear()

        workflows = client.iter_workflows(page_size=3)
        assert recording.to("/workflows") == []
        first = [await anext(workflows) for _ in range(3)]
        assert len(recording.to("/workflows")) == 1
        fourth = await anext(workflows)
        assert len(recording.to("/workflows")) == 2
        rest = [workflow async for workflow in workflows]

    assert [w.id for w in [*first, fourth, *rest]] == listed
    assert len(set(listed)) == 7
    cursors = [url.params.get("cursor") for url in recording.to("/workflows")]
    assert cursors[0] is None and None not in cursors[1:] and len(cursors) == 3
    assert {url.params["limit"] for url in recording.to("/workflows")} == {"3"}


async def test_iter_workflows_follows_pages_left_empty_by_archived_ones(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        saved = [await client.create_workflow(f"flow-{number}", ECHO) for number in range(6)]
        for workflow in saved[1:5]:
            await client.archive_workflow(workflow.id)
        live = {w.id async for w in client.iter_workflows(page_size=2)}
        everything = {w.id async for w in client.iter_workflows(include_archived=True)}
    assert live == {saved[0].id, saved[5].id}
    assert everything == {workflow.id for workflow in saved}


def sync_pending_executions(served: Served, workflow_id: str) -> tuple[list[str], Recording]:
    recording = Recording()
    with Client(served.url, served.token(), transport=recording) as client:
        found = client.iter_executions(workflow_id=workflow_id, status="pending", page_size=2)
        ids = [execution.id for execution in found]
    return ids, recording


async def test_sync_iter_executions_keeps_its_filter_on_every_page(served: Served) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO)
        later = await client.run_many(workflow.id, [RunSpec(start_at=tomorrow)] * 5)
        now = await client.run_many(workflow.id, [RunSpec(), RunSpec()])
        await served.drain()
        newest_first = await client.list_executions(workflow_id=workflow.id, limit=200)

    ids, recording = await asyncio.to_thread(sync_pending_executions, served, workflow.id)

    pending = {run.execution_id for run in later.runs}
    assert set(ids) == pending and len(ids) == 5
    assert ids == [e.id for e in newest_first.items if e.id in pending]
    assert not set(ids) & {run.execution_id for run in now.runs}
    pages = recording.to("/executions")
    assert len(pages) == 3
    assert all(url.params.get_list("status") == ["pending"] for url in pages)
    assert all(url.params["workflow_id"] == workflow.id for url in pages)


async def test_iter_events_reads_the_whole_history_after_a_seq(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO)
        started = await client.run(workflow.id, {"x": 3})
        await served.drain()
        stored = (await client.list_events(started.execution_id, limit=1000)).items
        events = [event async for event in client.iter_events(started.execution_id, page_size=2)]
        later = [e async for e in client.iter_events(started.execution_id, after=2, page_size=3)]

    assert len(stored) > 4
    assert events == stored
    assert [event.seq for event in later] == [event.seq for event in stored[2:]]


def sync_first_events(served: Served, execution_id: str, count: int) -> tuple[list[int], int]:
    recording = Recording()
    with Client(served.url, served.token(), transport=recording) as client:
        seqs = [e.seq for e in islice(client.iter_events(execution_id, page_size=2), count)]
    return seqs, len(recording.to("/events"))


async def test_sync_iter_events_stops_reading_when_the_caller_stops(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO)
        started = await client.run(workflow.id, {"x": 3})
    await served.drain()
    seqs, pages = await asyncio.to_thread(sync_first_events, served, started.execution_id, 3)
    assert seqs == [1, 2, 3]
    assert pages == 2
