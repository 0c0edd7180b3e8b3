"""The example package's kinds with a real API process and a real worker process on
PostgreSQL: the worker registers them, the API lists them with their forms, and a workflow
that looks a customer up in a CRM (served here on 127.0.0.1, busy at first) completes after
a retry, its token read from a secret and never stored in clear."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from adapters.postgres.migrate import upgrade
from tests.e2e.test_api_postgres import client, create, run, stack, status_becomes
from tests.support.api_stack import wait_until
from tests.support.databases import drop_database, fresh_database_url
from tests.support.fake_servers import Answer, BackgroundServer, RecordedRequest, json_answer

pytestmark = [pytest.mark.e2e]
CRM_TOKEN = "crm-token-of-the-e2e-test"
__all__ = ["client", "stack"]  # the API and worker processes, over this module's database


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_installed_kinds")
    upgrade(url)
    yield url
    drop_database(url)


class Crm(BackgroundServer):
    """A CRM that answers 503 (Retry-After: 0) `busy` times, then the customer."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy

    def answer(self, request: RecordedRequest) -> Answer:
        if len(self.requests) <= self.busy:
            return json_answer(503, {}, {"Retry-After": "0"})
        return json_answer(200, {"id": "cus_1", "name": "Ada", "plan": "pro"})


@pytest.fixture
def crm() -> Iterator[Crm]:
    with Crm(busy=1) as server:
        yield server


def worker_registered(base: str, token: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    kinds = httpx.get(f"{base}/api/v1/node-kinds", headers=headers, timeout=5).json()
    return any(kind["kind"] == "crm.lookup_customer" and kind["last_seen_at"] for kind in kinds)


async def test_an_installed_kind_runs_on_the_worker_with_retries(
    stack: tuple[str, str], client: httpx.AsyncClient, crm: Crm
) -> None:
    wait_until(lambda: worker_registered(*stack), "the worker to register its node kinds")
    url = f"{crm.url}/api"
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
    assert [request.headers["authorization"] for request in crm.requests] == [
        f"Bearer {CRM_TOKEN}"
    ] * 2
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
