"""watch_workspace against a real API: every change of a run as it commits, a dropped
connection resumed after the last change without missing or repeating one, resuming
from a change's id, `reset` as ChangesMissed, and a refusal raised at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing, closing

import pytest

from tests.api.workflows import WAITS_FOR_GO
from tests.client.conftest import DEADLINE, DropFirstStream, Recording, Served
from treadle_client import (
    AsyncClient,
    ChangesMissed,
    Client,
    ExecutionChange,
    Unauthenticated,
)

Changes = AsyncGenerator[ExecutionChange | ChangesMissed, None]


async def changes_until_completed(stream: Changes) -> list[ExecutionChange]:
    seen: list[ExecutionChange] = []
    async with aclosing(stream):
        async for item in stream:
            assert isinstance(item, ExecutionChange)
            seen.append(item)
            if item.status == "completed":
                return seen
    raise AssertionError("the workspace stream ended")


async def run_to_the_end(served: Served, client: AsyncClient) -> str:
    """A run that waits for a signal on the way, so that it commits several changes."""
    workflow = await client.create_workflow("waits", WAITS_FOR_GO)
    started = await client.run(workflow.id)
    await served.drain()
    await client.signal(started.execution_id, "go")
    await served.drain()
    return started.execution_id


def assert_one_whole_run(changes: list[ExecutionChange], execution_id: str) -> None:
    assert {change.execution_id for change in changes} == {execution_id}
    seqs = [change.seq for change in changes]
    assert seqs == sorted(set(seqs)), "a change was repeated or out of order"
    assert (changes[0].type, changes[0].status) == ("execution_created", "pending")
    assert changes[-1].type == "execution_completed"
    assert all(change.event_id for change in changes)


async def test_watch_workspace_resumes_after_a_drop_without_missing_a_change(
    served: Served,
) -> None:
    dropping = DropFirstStream(keep=2)
    plain_client = AsyncClient(served.url, served.token())
    dropped_client = AsyncClient(served.url, served.token(), transport=dropping)
    async with plain_client, dropped_client:
        plain = asyncio.create_task(changes_until_completed(plain_client.watch_workspace()))
        dropped = asyncio.create_task(
            changes_until_completed(dropped_client.watch_workspace(reconnect_delay=0))
        )
        try:
            await served.wait_for_listeners(2)
            execution_id = await run_to_the_end(served, plain_client)
            async with asyncio.timeout(DEADLINE):
                seen, seen_with_a_drop = await plain, await dropped
        finally:
            plain.cancel()
            dropped.cancel()

    assert len(seen) > 2
    assert_one_whole_run(seen, execution_id)
    assert seen_with_a_drop == seen
    assert dropping.resumed_from == [None, seen[1].event_id]


async def test_watch_workspace_resumes_after_a_change_it_is_given(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        watching = asyncio.create_task(changes_until_completed(client.watch_workspace()))
        try:
            await served.wait_for_listeners(1)
            await run_to_the_end(served, client)
            async with asyncio.timeout(DEADLINE):
                seen = await watching
        finally:
            watching.cancel()

        resumed = client.watch_workspace(last_event_id=seen[1].event_id)
        async with aclosing(resumed), asyncio.timeout(DEADLINE):
            replayed = [await anext(resumed) for _ in seen[2:]]
    assert replayed == seen[2:]


async def test_an_id_the_server_cannot_resume_from_says_changes_were_missed(
    served: Served,
) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        stream = client.watch_workspace(last_event_id="00000000-1")
        async with aclosing(stream), asyncio.timeout(DEADLINE):
            first = await anext(stream)
            execution_id = await run_to_the_end(served, client)
            after = await anext(stream)
    assert isinstance(first, ChangesMissed)
    assert isinstance(after, ExecutionChange) and after.execution_id == execution_id


def sync_changes_until_completed(served: Served) -> list[ExecutionChange]:
    seen: list[ExecutionChange] = []
    with Client(served.url, served.token()) as client:
        stream = client.watch_workspace(reconnect_delay=0, max_reconnects=1)
        with closing(stream):
            for item in stream:
                assert isinstance(item, ExecutionChange)
                seen.append(item)
                if item.status == "completed":
                    return seen
    raise AssertionError("the workspace stream ended")


async def test_sync_watch_workspace_sees_every_change_of_a_run(served: Served) -> None:
    # Should the run never complete, the server's shutdown ends the stream and the
    # watcher gives up after one failed reconnection, so the thread always ends.
    watching = asyncio.create_task(asyncio.to_thread(sync_changes_until_completed, served))
    await served.wait_for_listeners(1)
    async with AsyncClient(served.url, served.token()) as client:
        execution_id = await run_to_the_end(served, client)
    async with asyncio.timeout(DEADLINE):
        seen = await watching
    assert_one_whole_run(seen, execution_id)


async def test_watch_workspace_raises_a_refusal_at_once(served: Served) -> None:
    recording = Recording()
    async with AsyncClient(served.url, "not-a-token", transport=recording) as client:
        stream = client.watch_workspace(reconnect_delay=0)
        with pytest.raises(Unauthenticated) as refused:
            async with aclosing(stream):
                await anext(stream)
    assert refused.value.code == "unauthenticated"
    assert len(recording.to("/stream")) == 1
