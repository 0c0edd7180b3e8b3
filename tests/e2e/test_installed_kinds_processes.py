"""The example package's kinds with a real API process and a real worker process on
PostgreSQL: the worker registers them, the API lists them with their forms, and a workflow
that looks a customer up in a CRM (served here on 127.0.0.1, busy at first) completes after
a retry, its token read from a secret and never stored in clear."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.postgres.migrate import upgrade
from tests.e2e.test_api_postgres import create, run, status_becomes
from tests.support.api_stack import DEADLINE, api_and_worker, wait_until
from tests.support.databases import drop_database, fresh_database_url

pytestmark = [pytest.mark.e2e]
CRM_TOKEN = "crm-token-of-the-e2e-test"


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_installed_kinds")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def stack(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with api_and_worker(database, tmp_path_factory.mktemp("kinds-logs")) as running:
        yield running.base_url, running.token


@pytest.fixture
async def client(stack: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    base, token = stack
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) as http:
        yield http


class Crm:
    """A CRM that answers 503 (Retry-After: 0) `busy` times, then the customer."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.authorizations: list[str] = []


@pytest.fixture
def crm() -> Iterator[tuple[Crm, str]]:
    state = Crm(busy=1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.authorizations.append(self.headers.get("Authorization", ""))
            busy = state.busy > 0
            state.busy -= 1
            self.send_response(503 if busy else 200)
            if busy:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            body = {} if busy else {"id": "cus_1", "name": "Ada", "plan": "pro"}
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


def worker_registered(base: str, token: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    kinds = httpx.get(f"{base}/api/v1/node-kinds", headers=headers, timeout=5).json()
    return any(kind["kind"] == "crm.lookup_customer" and kind["last_seen_at"] for kind in kinds)


async def test_an_installed_kind_runs_on_the_worker_with_retries(
    stack: tuple[str, str], client: httpx.AsyncClient, crm: tuple[Crm, str]
) -> None:
    wait_until(lambda: worker_registered(*stack), "the worker to register its node kinds")
    state, url = crm
    secret = await client.post("/api/v1/secrets", json={"name": "crm", "value": CRM_TOKEN})
    assert secret.status_code == 201, secret.text
    definition = {
        "nodes": [
            {
                "id": "customer",
                "kind": "crm.lookup_customer",
                "config": {
                    "base_url": url,
                    "email": "{{ input.email }}",
                    "token": "{{ secrets.crm }}",
                },
                "retry": {"max_attempts": 3, "initial_interval": 0.1},
            }
        ]
    }

    execution_id = await run(client, await create(client, definition), {"email": "ada@x.org"})
    done = await status_becomes(client, execution_id, "completed")

    [customer] = done["node_runs"]
    assert customer["attempt"] == 2
    assert customer["output"] == {"id": "cus_1", "name": "Ada", "plan": "pro"}
    assert state.authorizations == [f"Bearer {CRM_TOKEN}"] * 2
    assert CRM_TOKEN not in json.dumps(done)
    events = await client.get(f"/api/v1/executions/{execution_id}/events")
    assert CRM_TOKEN not in events.text
    assert "crm_busy" in events.text


async def test_a_kind_no_worker_has_is_refused_at_save(client: httpx.AsyncClient) -> None:
    definition = {"nodes": [{"id": "resize", "kind": "image.resize", "config": {}}]}

    response = await client.post("/api/v1/workflows", json={"name": "r", "definition": definition})

    assert response.status_code == 422
    [problem] = response.json()["error"]["details"]
    assert (problem["code"], problem["path"]) == ("unknown_node_kind", "nodes[0].kind")
