"""The live event streams, served by a real uvicorn in this process over the memory runtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from tests.api.conftest import Api
from tests.api.workflows import ECHO, WAITS_FOR_GO, create, run

DEADLINE = 10.0


@pytest.fixture
async def served(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    config = uvicorn.Config(api.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(DEADLINE):
        while not server.started:
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE) as client:
        yield client
    server.should_exit = True
    await asyncio.wait_for(task, DEADLINE)


class Reader:
    """Reads server-sent events one at a time from an open response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, str]:
        message: dict[str, str] = {}
        async with asyncio.timeout(DEADLINE):
            async for line in self._lines:
                if not line:
                    if message:
                        return message
                    continue
                field, _, value = line.partition(":")
                message[field or "comment"] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    async def until(self, event: str) -> list[dict[str, str]]:
        seen = []
        while True:
            message = await self.next()
            seen.append(message)
            if message.get("event") == event:
                return seen


def data_of(messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [json.loads(m["data"]) for m in messages if "data" in m and "event" not in m]


async def test_a_finished_execution_replays_its_events_then_ends(
    api: Api, served: httpx.AsyncClient
) -> None:
    execution_id = await run(api, await create(api, ECHO), {"x": 1})
    await api.drain()
    url = f"/api/v1/executions/{execution_id}/stream"
    async with served.stream("GET", url, headers=api.auth("a_viewer")) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = await Reader(response).until("end")
    events = data_of(messages)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "execution_completed"
    assert json.loads(messages[-1]["data"])["status"] == "completed"


async def test_live_events_arrive_as_they_commit_and_last_event_id_resumes(
    api: Api, served: httpx.AsyncClient
) -> None:
    execution_id = await run(api, await create(api, WAITS_FOR_GO))
    url = f"/api/v1/executions/{execution_id}/stream?token={api.tokens['a_viewer']}"
    async with served.stream("GET", url) as response:
        reader = Reader(response)
        assert "comment" in await reader.next()  # subscribed
        first = await reader.next()
        assert json.loads(first["data"])["type"] == "execution_created"
        await api.drain()
        await api.request("POST", f"/api/v1/executions/{execution_id}/signals/go", json={"n": 1})
        await api.drain()
        messages = await reader.until("end")
    types = [e["type"] for e in data_of(messages)]
    assert "signal_received" in types and types[-1] == "execution_completed"
    resume = {**api.auth(), "Last-Event-ID": "3"}
    async with served.stream(
        "GET", f"/api/v1/executions/{execution_id}/stream", headers=resume
    ) as again:
        replayed = data_of(await Reader(again).until("end"))
    assert replayed[0]["seq"] == 4


async def test_the_workspace_stream_carries_only_its_own_status_changes(
    api: Api, served: httpx.AsyncClient
) -> None:
    theirs = await create(api, ECHO, who="b_admin")
    ours = await create(api, ECHO)
    url = f"/api/v1/stream?token={api.tokens['a_viewer']}"
    async with served.stream("GET", url) as response:
        reader = Reader(response)
        assert "comment" in await reader.next()
        await run(api, theirs, who="b_admin")
        execution_id = await run(api, ours, {"x": 2})
        await api.drain()
        statuses = []
        while "completed" not in statuses:
            change = json.loads((await reader.next())["data"])
            assert change["execution_id"] == execution_id
            statuses.append(change["status"])
    assert statuses[0] == "pending"


async def test_an_unknown_last_event_id_on_the_workspace_stream_asks_for_a_reset(
    api: Api, served: httpx.AsyncClient
) -> None:
    headers = {**api.auth(), "Last-Event-ID": "other-process-7"}
    async with served.stream("GET", "/api/v1/stream", headers=headers) as response:
        reader = Reader(response)
        await reader.next()
        assert (await reader.next())["event"] == "reset"
