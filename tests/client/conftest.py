"""The client against a real uvicorn serving the app in this process, over the memory
runtime, with tokens of every role in two workspaces; the test drives the worker. Also a
small scripted HTTP server, for answers the app gives only when something is wrong (429,
503, a dropped connection)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import httpx
import pytest
import uvicorn

from application.worker_loop import WorkerLoop, WorkerSettings
from entrypoints.api.app import create_app
from entrypoints.api.live import EventHub
from entrypoints.runtime import Runtime
from tests.api.conftest import api_settings, issue_tokens, memory_runtime

DEADLINE = 10.0


@dataclass
class Served:
    """Where the API listens, its tokens, and the runtime behind it (to drain)."""

    url: str
    runtime: Runtime
    tokens: dict[str, str]
    hub: EventHub

    def token(self, who: str = "a_admin") -> str:
        return self.tokens[who]

    async def drain(self) -> int:
        """Run every due execution to its next stop, in this process."""
        runtime = self.runtime
        settings = WorkerSettings(worker_id="test-worker")
        loop = WorkerLoop(settings, runtime.queue, runtime.engine.runner(), runtime.clock)
        return await loop.run_until_idle()

    async def wait_for_listeners(self, count: int) -> None:
        """Until `count` live streams are subscribed, so none misses what happens next."""
        await wait_until(lambda: self.hub.listeners >= count)


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.01)


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
    yield Served(f"http://127.0.0.1:{port}", runtime, tokens, app.state["hub"])
    server.should_exit = True
    await asyncio.wait_for(task, DEADLINE)
    await runtime.close()


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Real HTTP, recording the URL of every request sent."""

    def __init__(self) -> None:
        self.sent: list[httpx.URL] = []
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def to(self, path_end: str) -> list[httpx.URL]:
        """The requests sent to a path that ends so."""
        return [url for url in self.sent if url.path.endswith(path_end)]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


@dataclass(frozen=True)
class Answer:
    """What the scripted server answers one request: a status, headers and a JSON body,
    or (`drop`) nothing at all, closing the connection."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() when the request arrived."""


class ScriptedServer(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that answers each request with the next answer of
    its `script` (repeating the last one once the script is used up) and records every
    request it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.script: list[Answer] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *answers: Answer) -> None:
        """Start a new script (and forget the requests received so far)."""
        with self._lock:
            self.script = list(answers)
            self.received = []

    def next_answer(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def gaps(self) -> list[float]:
        """Seconds between one request's arrival and the next one's."""
        times = [request.at for request in self.received]
        return [later - earlier for earlier, later in pairwise(times)]


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def _serve(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        received = Received(self.command, self.path, dict(self.headers), body, time.monotonic())
        answer = self.server.next_answer(received)
        if answer.drop:
            self.close_connection = True
            return
        content = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test asserts on `received` instead."""


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(DEADLINE)


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
