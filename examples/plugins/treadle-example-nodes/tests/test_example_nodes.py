"""The example kinds called as Treadle calls them, against a CRM served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from treadle_example_nodes import (
    LOOKUP_CUSTOMER,
    SLUGIFY,
    LookupCustomerConfig,
    SlugifyConfig,
)

from treadle_nodes import NodeContext, NodeFailure


def context(attempt: int = 1) -> NodeContext:
    return NodeContext(
        execution_id="ex_1",
        workspace_id="ws_1",
        workflow_id="wf_1",
        node_id="lookup",
        attempt=attempt,
        idempotency_key="ex_1:lookup",
        now=datetime(2026, 12, 4, tzinfo=UTC),
        log=logging.LoggerAdapter(logging.getLogger("test")),
    )


def test_slugify_drops_accents_and_punctuation() -> None:
    config = SlugifyConfig(text="Crème brûlée: 3 façons!", separator="_", max_length=40)

    assert asyncio.run(SLUGIFY.run(config, context())) == {"slug": "creme_brulee_3_facons"}


def test_slugify_cuts_at_the_longest_length_without_a_trailing_separator() -> None:
    config = SlugifyConfig(text="one two three", max_length=8)

    assert asyncio.run(SLUGIFY.run(config, context())) == {"slug": "one-two"}


class Crm:
    """Answers `/customers?email=...` with the statuses queued in `answers`, then 200."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.seen: list[dict[str, str]] = []


@pytest.fixture
def crm() -> Iterator[tuple[Crm, str]]:
    state = Crm()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(dict(self.headers))
            status, headers = state.answers.pop(0) if state.answers else (200, {})
            body = {"id": "cus_7", "name": "Ada", "plan": "pro"} if status == 200 else {}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def lookup(url: str) -> LookupCustomerConfig:
    return LookupCustomerConfig.model_validate(
        {"base_url": url, "email": "ada@example.com", "token": "t0ken-value"}
    )


def test_a_found_customer_is_the_output(crm: tuple[Crm, str]) -> None:
    state, url = crm

    found = asyncio.run(LOOKUP_CUSTOMER.run(lookup(url), context()))

    assert found == {"id": "cus_7", "name": "Ada", "plan": "pro"}
    assert state.seen[0]["Authorization"] == "Bearer t0ken-value"
    assert state.seen[0]["Idempotency-Key"] == "ex_1:lookup"


def test_a_busy_crm_is_worth_another_attempt_after_its_retry_after(crm: tuple[Crm, str]) -> None:
    state, url = crm
    state.answers.append((503, {"Retry-After": "2"}))

    with pytest.raises(NodeFailure) as failed:
        asyncio.run(LOOKUP_CUSTOMER.run(lookup(url), context()))

    assert (failed.value.kind, failed.value.retryable) == ("crm_busy", True)
    assert failed.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "kind"), [(404, "customer_not_found"), (403, "crm_refused"), (418, "crm_error")]
)
def test_what_another_attempt_cannot_mend_fails_at_once(
    crm: tuple[Crm, str], status: int, kind: str
) -> None:
    state, url = crm
    state.answers.append((status, {}))

    with pytest.raises(NodeFailure) as failed:
        asyncio.run(LOOKUP_CUSTOMER.run(lookup(url), context()))

    assert (failed.value.kind, failed.value.retryable) == (kind, False)


def test_an_unreachable_crm_is_worth_another_attempt() -> None:
    config = lookup("http://127.0.0.1:9/api")  # the discard port: nothing listens

    with pytest.raises(NodeFailure) as failed:
        asyncio.run(LOOKUP_CUSTOMER.run(config, context()))

    assert (failed.value.kind, failed.value.retryable) == ("crm_unreachable", True)
