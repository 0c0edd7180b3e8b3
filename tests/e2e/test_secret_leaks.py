"""No stored row and no API response holds a secret's value, in any form, through any path.

A real API process and a real worker process on PostgreSQL run workflows that push a
secret (with `/` and `+`, as base64 keys have) through a filter into a transform's
output, a network node's header and query, an echoing service's success and error
bodies, a downstream node's input, and the execution's output; a sub-workflow asked to
carry it is refused. Then every table is read as text, and every API and console page
about those executions is fetched, and none holds the value or a rendered form of it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import psycopg
import pytest
from psycopg import sql

from adapters.postgres.migrate import upgrade
from adapters.postgres.urls import libpq_conninfo
from tests.e2e.test_api_postgres import status_becomes, stream_to_end
from tests.support.api_stack import api_and_worker
from tests.support.databases import drop_database, fresh_database_url
from tests.support.fake_servers import Answer, BackgroundServer, RecordedRequest, json_answer

pytestmark = [pytest.mark.e2e]

SECRET = "Zk9/Qx+Lm3/Vb+Rt7wE="
FORMS = {
    SECRET,
    quote(SECRET, safe=""),
    quote(SECRET),  # Jinja's urlencode keeps "/"
    quote_plus(SECRET),
    base64.b64encode(SECRET.encode()).decode(),
    SECRET[::-1],
    SECRET.lower(),
}


class EchoingService(BackgroundServer):
    """Echoes what it was sent; the first call to each path fails with the echo as body."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._guard = threading.Lock()

    def answer(self, request: RecordedRequest) -> Answer:
        echo = {"query": request.query, "headers": request.headers}
        with self._guard:
            first = request.path not in self._seen
            self._seen.add(request.path)
        return json_answer(500 if first else 200, echo)


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_secret_leaks")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def service() -> Iterator[EchoingService]:
    with EchoingService() as server:
        yield server


@pytest.fixture(scope="module")
def stack(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    logs = tmp_path_factory.mktemp("leak-logs")
    settings = {"TREADLE_LOG_LEVEL": "INFO", "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1"}
    with api_and_worker(database, logs, **settings) as running:
        yield running.base_url, running.token
    log_text = "".join(_read(logs / name) for name in ("api.log", "worker.log"))
    assert not _leaks(log_text), "a log line holds the secret"


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


@pytest.fixture
async def client(stack: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    base, token = stack
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        yield http


def _leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def leaky_workflow(service_url: str) -> dict[str, Any]:
    encoded = "{{ secrets.S1 | urlencode }}"
    call = {
        "url": f"{service_url}/echo",
        "headers": {"X-Key": encoded, "Authorization": "Bearer {{ secrets.S1 | b64encode }}"},
        "query": {"key": encoded},
    }
    return {
        "nodes": [
            {"id": "shape", "kind": "transform", "config": {"output": {"k": encoded}}},
            {
                "id": "call",
                "kind": "http_request",
                "config": call,
                "retry": {"max_attempts": 2, "initial_interval": 0.01},
            },
            {
                "id": "fails",
                "kind": "http_request",
                "config": {**call, "url": f"{service_url}/fails"},
                "retry": {"max_attempts": 1},
                "on_error": "continue",
            },
            {"id": "after", "kind": "transform", "config": {"output": "{{ nodes.call.output }}"}},
            {"id": "mixed", "kind": "transform", "config": {"output": "k={{ secrets.S1[::-1] }}"}},
        ],
        "edges": [
            {"from": "shape", "to": "call"},
            {"from": "call", "to": "after"},
            {"from": "shape", "to": "fails"},
            {"from": "shape", "to": "mixed"},
        ],
    }


async def test_no_table_and_no_response_holds_the_secret(
    client: httpx.AsyncClient, service: EchoingService, database: str
) -> None:
    created = await client.post("/api/v1/secrets", json={"name": "S1", "value": SECRET})
    assert created.status_code == 201, created.text
    child = {"workflow_id": "wf_any", "input": {"k": "{{ secrets.S1 }}"}}
    carries = {"nodes": [{"id": "c", "kind": "sub_workflow", "config": child}]}
    refused = await client.post(
        "/api/v1/workflows", json={"name": "carries", "definition": carries}
    )
    assert refused.status_code == 422, refused.text
    assert "secret_in_child_input" in refused.text

    response = await client.post(
        "/api/v1/workflows", json={"name": "leaky", "definition": leaky_workflow(service.url)}
    )
    assert response.status_code == 201, response.text
    workflow_id = response.json()["id"]
    run = await client.post(f"/api/v1/workflows/{workflow_id}/run", json={"input": {}})
    execution_id = run.json()["execution_id"]
    events = await stream_to_end(client, execution_id)
    detail = await status_becomes(client, execution_id, "completed")

    sent = [request.headers.get("x-key") for request in service.requests]
    assert quote(SECRET) in sent, "the service should have received the rendered secret"
    served = [json.dumps(events), json.dumps(detail)]
    for path in (
        "/api/v1/executions",
        f"/api/v1/executions/{execution_id}",
        f"/api/v1/executions/{execution_id}/events",
        f"/api/v1/workflows/{workflow_id}/executions",
    ):
        page = await client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        served.append(page.text)
    assert not _leaks("\n".join(served))
    assert not _leaks(_every_table(database))


def _every_table(database: str) -> str:
    """Every row of every table in the database, as text."""
    with psycopg.connect(libpq_conninfo(database)) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert len(tables) > 5
        dumped = []
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            dumped += [row[0] for row in conn.execute(query).fetchall()]
    return "\n".join(dumped)
