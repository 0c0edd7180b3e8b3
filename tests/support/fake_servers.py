"""Small real HTTP servers on 127.0.0.1 for testing the network nodes.

Each runs a `ThreadingHTTPServer` on a free port in a background thread; use it as a
context manager. Handlers never sleep for real: a slow answer waits on an event that
`stop()` sets, so stopping is quick even mid-request.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner: BackgroundServer) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up early (timeouts, truncation) are expected here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    """Records each request, then lets the owning server answer it."""

    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        owner: BackgroundServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        recorded = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        owner.record(recorded)
        status, headers, body = owner.answer(recorded)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""


Answer = tuple[int, dict[str, str], bytes]


class BackgroundServer:
    """Base class: serving, recording, stopping. Subclasses implement `answer`."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = _Server(_Handler, self)
        # A short poll interval keeps `shutdown()` (which waits for the next poll) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def answer(self, request: RecordedRequest) -> Answer:
        raise NotImplementedError


def json_answer(status: int, document: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(document).encode(),
    )


class ProgrammableServer(BackgroundServer):
    """Answers by path:

    - `/json`, `/text`: a small JSON or text body;
    - `/bytes/<n>`: n bytes of text;
    - `/status/<code>[?retry_after=s]`: that status with a JSON body;
    - `/flaky/<name>?failures=N[&status=S]`: status S (500) for the first N calls, then 200;
    - `/slow?seconds=S`: 200 after S seconds (or at once when the server stops);
    - `/redirect`: 302 to `/json`;
    - `/echo`: the request itself as JSON.
    """

    def __init__(self) -> None:
        super().__init__()
        self._flaky_calls: Counter[str] = Counter()

    def keys_seen(self) -> list[str | None]:
        """The Idempotency-Key of every request so far, in order."""
        with self._lock:
            return [request.headers.get("idempotency-key") for request in self.requests]

    def requests_with_key(self, key: str) -> int:
        return self.keys_seen().count(key)

    def answer(self, request: RecordedRequest) -> Answer:
        path = request.path
        if path == "/json":
            return json_answer(200, {"hello": "world", "items": [1, 2, 3]})
        if path == "/text":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"hello, world"
        if path.startswith("/bytes/"):
            return 200, {"Content-Type": "text/plain"}, b"x" * int(path.rsplit("/", 1)[1])
        if path.startswith("/status/"):
            return self._status(int(path.rsplit("/", 1)[1]), request)
        if path.startswith("/flaky/"):
            return self._flaky(path.rsplit("/", 1)[1], request)
        if path == "/slow":
            self.stopping.wait(float(request.query["seconds"][0]))
            return json_answer(200, {"slow": True})
        if path == "/redirect":
            return 302, {"Location": "/json"}, b""
        if path == "/echo":
            return json_answer(200, _echo(request))
        return json_answer(404, {"error": f"no route {path}"})

    def _status(self, status: int, request: RecordedRequest) -> Answer:
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"][0]
        return json_answer(status, {"error": f"status {status}"}, headers)

    def _flaky(self, name: str, request: RecordedRequest) -> Answer:
        failures = int(request.query["failures"][0])
        status = int(request.query.get("status", ["500"])[0])
        with self._lock:
            self._flaky_calls[name] += 1
            call = self._flaky_calls[name]
        if call <= failures:
            return json_answer(status, {"error": "try again", "call": call})
        return json_answer(200, {"ok": True, "call": call})


def _echo(request: RecordedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": request.headers,
        "body": request.body.decode("utf-8", errors="replace"),
    }


class FakeChatServer(BackgroundServer):
    """An OpenAI-compatible `POST /v1/chat/completions`.

    It answers with a completion whose content is `reply`, unless a scripted answer is
    queued (`fail_next`). When `expected_key` is set, any other bearer token gets a 401
    whose message quotes the token presented, as some providers do.
    """

    def __init__(self, *, expected_key: str | None = None, reply: str = "Hello!") -> None:
        super().__init__()
        self.expected_key = expected_key
        self.reply = reply
        self.model = "fake-model-1"
        self._scripted: deque[Answer] = deque()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def fail_next(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        error = {"message": message, "type": "server_error", "code": None}
        with self._lock:
            self._scripted.append(json_answer(status, {"error": error}, headers))

    def answer(self, request: RecordedRequest) -> Answer:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return json_answer(404, {"error": {"message": f"no route {request.path}"}})
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.expected_key is not None and presented != self.expected_key:
            message = f"Incorrect API key provided: {presented}."
            error = {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}
            return json_answer(401, {"error": error})
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        return scripted or json_answer(200, self._completion())

    def _completion(self) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
