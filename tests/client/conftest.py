"""The client against a real uvicorn serving the app in this process, over the memory
runtime, with tokens of every role in two workspaces; the test drives the worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from application.worker_loop import WorkerLoop, WorkerSettings
from entrypoints.api.app import create_app
from entrypoints.runtime import Runtime
from tests.api.conftest import api_settings, issue_tokens, memory_runtime

DEADLINE = 10.0


@dataclass
class Served:
    """Where the API listens, its tokens, and the runtime behind it (to drain)."""

    url: str
    runtime: Runtime
    tokens: dict[str, str]

    def token(self, who: str = "a_admin") -> str:
        return self.tokens[who]

    async def drain(self) -> int:
        """Run every due execution to its next stop, in this process."""
        runtime = self.runtime
        settings = WorkerSettings(worker_id="test-worker")
        loop = WorkerLoop(settings, runtime.queue, runtime.engine.runner(), runtime.clock)
        return await loop.run_until_idle()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    settings = api_settings()
    runtime, _ = await memory_runtime(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(DEADLINE):
        while not server.started:
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", runtime, tokens)
    server.should_exit = True
    await asyncio.wait_for(task, DEADLINE)
    await runtime.close()


class DroppingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body cut (as by a dropped connection) after `keep` event messages."""

    def __init__(self, inner: httpx.Response, keep: int) -> None:
        self._inner = inner
        self._keep = keep

    def _cut(self, buffer: bytearray, seen: int) -> tuple[list[bytes], int]:
        messages = []
        while b"\n\n" in buffer or b"\r\n\r\n" in buffer:
            end = buffer.find(b"\r\n\r\n")
            size = 4
            if end < 0:
                end, size = buffer.find(b"\n\n"), 2
            message = bytes(buffer[: end + size])
            del buffer[: end + size]
            messages.append(message)
            if b"id:" in message:
                seen += 1
                if seen >= self._keep:
                    return messages, seen
        return messages, seen

    def __iter__(self) -> Iterator[bytes]:
        buffer, seen = bytearray(), 0
        for chunk in self._inner.iter_raw():
            buffer += chunk
            messages, seen = self._cut(buffer, seen)
            yield from messages
            if seen >= self._keep:
                raise httpx.ReadError("connection dropped")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        buffer, seen = bytearray(), 0
        async for chunk in self._inner.aiter_raw():
            buffer += chunk
            messages, seen = self._cut(buffer, seen)
            for message in messages:
                yield message
            if seen >= self._keep:
                raise httpx.ReadError("connection dropped")

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()


class DropFirstStream(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Real HTTP, except that the first live stream drops after `keep` events; records
    the Last-Event-ID of every stream request."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.resumed_from: list[str | None] = []
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def _drops(self, request: httpx.Request) -> bool:
        if not request.url.path.endswith("/stream"):
            return False
        self.resumed_from.append(request.headers.get("Last-Event-ID"))
        return len(self.resumed_from) == 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._sync.handle_request(request)
        if not self._drops(request):
            return response
        inner = httpx.Response(response.status_code, stream=response.stream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=DroppingStream(inner, self.keep),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._async.handle_async_request(request)
        if not self._drops(request):
            return response
        inner = httpx.Response(response.status_code, stream=response.stream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=DroppingStream(inner, self.keep),
        )

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()
