"""The programmable HTTP server, plus the answers the worker tests need on top of it."""

from __future__ import annotations

import threading
from collections import Counter

from tests.support.fake_servers import Answer, ProgrammableServer, RecordedRequest, json_answer

OVERLAP_WAIT_SECONDS = 5.0


class WorkerTestServer(ProgrammableServer):
    """Also answers:

    - `/slow-once/<name>?seconds=S`: the first call to that name answers after S seconds
      (or when the server stops), later calls at once;
    - `/overlap/<name>?branch=B`: holds each call until two calls to that name have been
      in flight at the same moment (up to 5 s), and remembers the most seen at once;
    - `/echo-status/<code>`: the request echoed back as JSON, with that status.
    """

    def __init__(self) -> None:
        super().__init__()
        self._named_calls: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self.most_in_flight: Counter[str] = Counter()
        self._overlap_changed = threading.Condition()

    def answer(self, request: RecordedRequest) -> Answer:
        kind, _, rest = request.path.strip("/").partition("/")
        if kind == "slow-once":
            return self._slow_once(rest, request)
        if kind == "overlap":
            return self._overlap(rest, request)
        if kind == "echo-status":
            return self._echo_status(int(rest), request)
        return super().answer(request)

    def calls_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in list(self.requests) if request.path == path]

    def _slow_once(self, name: str, request: RecordedRequest) -> Answer:
        with self._lock:
            self._named_calls[name] += 1
            call = self._named_calls[name]
        if call == 1:
            self.stopping.wait(float(request.query["seconds"][0]))
        return json_answer(200, {"call": call})

    def _overlap(self, name: str, request: RecordedRequest) -> Answer:
        with self._overlap_changed:
            self._in_flight[name] += 1
            self.most_in_flight[name] = max(self.most_in_flight[name], self._in_flight[name])
            self._overlap_changed.notify_all()
            self._overlap_changed.wait_for(
                lambda: self.most_in_flight[name] >= 2 or self.stopping.is_set(),
                timeout=OVERLAP_WAIT_SECONDS,
            )
            self._in_flight[name] -= 1
        return json_answer(200, {"branch": request.query["branch"][0]})

    def _echo_status(self, status: int, request: RecordedRequest) -> Answer:
        echoed = {
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", errors="replace"),
        }
        return json_answer(status, echoed)
