"""A deliberately flaky HTTP endpoint for trying Treadle's retries (standard library only).

It answers the first N requests carrying a given Idempotency-Key with 503 Service
Unavailable, and every later request with that key with 200 and a small JSON receipt.
Requests are counted per key, so each execution (whose HTTP node sends one key for all of
its attempts) sees N failures and then a success, and you can watch the retries happen.

    python flaky_server.py                  # 127.0.0.1:8765, two failures per key
    python flaky_server.py --failures 3 --port 9000

It listens on 127.0.0.1 only: it is a toy for your own machine.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NO_KEY = "(no Idempotency-Key)"


class FlakyServer(ThreadingHTTPServer):
    """Counts requests per Idempotency-Key and fails the first `failures` of each."""

    def __init__(self, address: tuple[str, int], failures: int) -> None:
        super().__init__(address, FlakyHandler)
        self.failures = failures
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()  # handlers run on one thread per request

    def count(self, key: str) -> int:
        """Record one more request with `key`; return how many there have been."""
        with self._lock:
            self.seen[key] += 1
            return self.seen[key]


class FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def _answer(self) -> None:
        request_body = self._read_body()
        key = self.headers.get("Idempotency-Key") or NO_KEY
        attempt = self.server.count(key)
        if attempt <= self.server.failures:
            left = self.server.failures - attempt + 1
            self._send(503, {"error": "temporarily unavailable", "attempt": attempt}, left)
            return
        receipt = {"ok": True, "attempt": attempt, "idempotency_key": key, "request": request_body}
        self._send(200, receipt)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    def _send(self, status: int, document: dict[str, Any], failures_left: int = 0) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if failures_left:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        key = self.headers.get("Idempotency-Key") if self.headers else None
        print(f"{self.address_string()} key={key or NO_KEY} {format % args}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (8765)")
    parser.add_argument(
        "--failures", type=int, default=2, help="503 answers per Idempotency-Key first (2)"
    )
    options = parser.parse_args()
    server = FlakyServer(("127.0.0.1", options.port), options.failures)
    port = server.server_address[1]
    print(f"flaky server on http://127.0.0.1:{port}/ failing {options.failures} times per key")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
