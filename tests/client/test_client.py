"""The Python client against a real API: run and watch (sync and async), a watch that
resumes after a dropped connection, errors, and the other resources."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.workflows import BROKEN, ECHO, WAITS_FOR_GO
from tests.client.conftest import DropFirstStream, Served
from treadle_client import (
    AsyncClient,
    Client,
    Conflict,
    Event,
    InvalidInput,
    NotFound,
    RunSpec,
    TreadleError,
    Unauthenticated,
)

DEADLINE = 10.0


async def watch_all(client: AsyncClient, execution_id: str, **options: Any) -> list[Event]:
    return [event async for event in client.watch(execution_id, **options)]


def assert_whole_history(events: list[Event]) -> None:
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert events[0].type == "execution_created"
    assert events[-1].type == "execution_completed"


async def test_async_run_and_watch_live_until_the_end(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("greet", WAITS_FOR_GO)
        assert workflow.version == 1 and workflow.warnings == []
        started = await client.run(workflow.id, {"name": "Ada"}, idempotency_key="greet-1")
        assert started.created and started.status == "pending"
        again = await client.run(workflow.id, {"name": "Ada"}, idempotency_key="greet-1")
        assert again.execution_id == started.execution_id and not again.created

        watching = asyncio.create_task(watch_all(client, started.execution_id))
        await served.drain()
        await client.signal(started.execution_id, "go", {"by": "grace"})
        await served.drain()
        async with asyncio.timeout(DEADLINE):
            events = await watching

        assert_whole_history(events)
        assert "signal_received" in [event.type for event in events]
        detail = await client.get_execution(started.execution_id)
        assert detail.status == "completed"
        outputs = {run.node_id: run.output for run in detail.node_runs}
        assert outputs["after"] == {"signal": "go", "payload": {"by": "grace"}}


def sync_run_and_watch(served: Served, loop: asyncio.AbstractEventLoop) -> None:
    def drain() -> None:
        asyncio.run_coroutine_threadsafe(served.drain(), loop).result(DEADLINE)

    with Client(served.url, served.token()) as client:
        workflow = client.create_workflow("echo", ECHO)
        started = client.run(workflow.id, {"x": 7}, priority=8)
        drain()
        events = list(client.watch(started.execution_id))
        assert_whole_history(events)
        detail = client.get_execution(started.execution_id)
        assert detail.status == "completed" and detail.priority == 8
        assert {run.node_id: run.output for run in detail.node_runs}["double"] == {"x": 7}
        page = client.list_events(started.execution_id, after=2, limit=2)
        assert [event.seq for event in page.items] == [3, 4]


async def test_sync_run_and_watch(served: Served) -> None:
    await asyncio.to_thread(sync_run_and_watch, served, asyncio.get_running_loop())


async def test_async_watch_resumes_after_a_dropped_connection(served: Served) -> None:
    transport = DropFirstStream(keep=2)
    async with AsyncClient(served.url, served.token(), transport=transport) as client:
        workflow = await client.create_workflow("echo", ECHO)
        started = await client.run(workflow.id, {"x": 1})
        await served.drain()
        events = await watch_all(client, started.execution_id, reconnect_delay=0)
    assert_whole_history(events)
    assert transport.resumed_from == [None, "2"]


def sync_watch_with_a_drop(served: Served, execution_id: str) -> None:
    transport = DropFirstStream(keep=3)
    with Client(served.url, served.token(), transport=transport) as client:
        events = list(client.watch(execution_id, reconnect_delay=0))
    assert_whole_history(events)
    assert transport.resumed_from == [None, "3"]


async def test_sync_watch_resumes_after_a_dropped_connection(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO)
        started = await client.run(workflow.id, {"x": 1})
    await served.drain()
    await asyncio.to_thread(sync_watch_with_a_drop, served, started.execution_id)


async def test_errors_carry_the_status_code_message_and_details(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        with pytest.raises(NotFound) as missing:
            await client.get_execution("ex_nope")
        assert missing.value.status == 404 and missing.value.code == "not_found"
        assert "ex_nope" in missing.value.message
        with pytest.raises(NotFound):
            await watch_all(client, "ex_nope")

        with pytest.raises(InvalidInput) as invalid:
            await client.create_workflow("broken", BROKEN)
        assert invalid.value.code == "invalid_definition" and invalid.value.details

        workflow = await client.create_workflow("echo", ECHO)
        started = await client.run(workflow.id)
        await served.drain()
        with pytest.raises(Conflict) as finished:
            await client.cancel(started.execution_id)
        assert isinstance(finished.value, TreadleError) and finished.value.status == 409

    async with AsyncClient(served.url, "not-a-token") as stranger:
        with pytest.raises(Unauthenticated) as refused:
            await stranger.list_workflows()
    assert refused.value.code == "unauthenticated"


def sync_not_found(served: Served) -> None:
    with Client(served.url, served.token()) as client, pytest.raises(TreadleError) as error:
        client.get_execution("ex_nope")
    assert (error.value.status, error.value.code) == (404, "not_found")


async def test_sync_errors(served: Served) -> None:
    await asyncio.to_thread(sync_not_found, served)


async def test_bulk_runs_lists_and_controls(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO, "doubles")
        later = datetime.now(UTC) + timedelta(days=1)
        bulk = await client.run_many(
            workflow.id,
            [RunSpec(input={"x": 1}, idempotency_key="a"), {"input": {"x": 2}, "start_at": later}],
        )
        assert bulk.created == 2 and [run.created for run in bulk.runs] == [True, True]
        await served.drain()
        done = await client.list_executions(workflow_id=workflow.id, status="completed")
        assert [e.id for e in done.items] == [bulk.runs[0].execution_id]
        pending = await client.list_executions(status=["pending"], limit=10)
        assert [e.id for e in pending.items] == [bulk.runs[1].execution_id]
        children = await client.list_executions(parent_execution_id=done.items[0].id)
        assert children.items == [] and children.next_cursor is None

        rerun = await client.rerun(done.items[0].id)
        assert rerun.rerun_of == done.items[0].id
        cancelled = await client.cancel(bulk.runs[1].execution_id)
        assert cancelled.status in ("cancelled", "pending")

        changed = {**ECHO, "settings": {"fail_fast": True}}  # the same content makes no version
        updated = await client.update_workflow(workflow.id, changed, description="v2")
        assert updated.version == 2 and updated.description == "v2"
        assert (await client.get_workflow(workflow.id, version=1)).version == 1
        listed = await client.list_workflows(name="ech")
        assert [w.id for w in listed.items] == [workflow.id]
        assert [v.version for v in await client.list_versions(workflow.id)] == [2, 1]
        check = await client.validate_workflow("broken", BROKEN)
        assert not check.valid and check.problems


async def test_schedules_triggers_secrets_and_tokens(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        workflow = await client.create_workflow("echo", ECHO)
        schedule = await client.create_schedule(workflow.id, "0 9 * * 1-5", input={"x": 1})
        assert schedule.enabled and schedule.next_fire_at is not None
        assert (await client.disable_schedule(schedule.id)).enabled is False
        changed = await client.update_schedule(schedule.id, cron="@daily")
        assert changed.cron == "@daily"
        assert [s.id for s in await client.list_schedules(workflow.id)] == [schedule.id]
        await client.delete_schedule(schedule.id)
        with pytest.raises(NotFound):
            await client.get_schedule(schedule.id)

        trigger = await client.create_trigger(workflow.id, name="pushes")
        assert trigger.url.endswith(f"/hooks/{trigger.id}")
        assert (await client.disable_trigger(trigger.id)).enabled is False
        assert await client.list_deliveries(trigger.id) == []
        await client.delete_trigger(trigger.id)

        secret = await client.create_secret("api_key", "s3cret")
        assert [s.name for s in await client.list_secrets()] == [secret.name]
        await client.rotate_secret("api_key", "n3w")
        await client.delete_secret("api_key")

        token = await client.create_token("ci", "viewer")
        assert token.token and token.role == "viewer"
        await client.revoke_token(token.id)
        revoked = [t for t in await client.list_tokens() if t.id == token.id]
        assert revoked[0].revoked_at is not None
        assert (await client.workspace()).role == "admin"
