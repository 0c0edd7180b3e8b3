"""Webhook triggers on PostgreSQL: a redelivery finds the first execution, a refused one
stores no execution, and `respond: wait` hears the node finish through LISTEN/NOTIFY."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient

from adapters.postgres.migrate import upgrade
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from tests.api.conftest import Api, api_settings, issue_tokens
from tests.api.triggers import (
    create_trigger,
    deliveries,
    drained_while,
    executions_of,
    github_headers,
    hook,
    payload,
    served,
)
from tests.api.workflows import ECHO, create
from tests.support.databases import drop_database, fresh_database_url


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_hooks")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
async def pg_api(database: str) -> AsyncIterator[Api]:
    settings = api_settings(database_url=database)
    runtime = await bootstrap(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app) as client:
        yield Api(app, runtime, runtime.services, client, tokens)
    await runtime.close()


async def test_a_github_redelivery_finds_the_first_execution(pg_api: Api) -> None:
    workflow_id = await create(pg_api, ECHO, name="pushes")
    trigger = await create_trigger(pg_api, workflow_id, verification="github")
    body = payload({"ref": "main"})
    headers = github_headers(trigger["secret"], body, delivery="72d3162e")
    first = await hook(pg_api, trigger, body, headers=headers)
    again = await hook(pg_api, trigger, body, headers=headers)
    forged = await hook(pg_api, trigger, body, headers=github_headers("x", body, "other"))
    assert (first.status_code, again.status_code, forged.status_code) == (202, 202, 401)
    assert first.json()["execution_id"] == again.json()["execution_id"]
    assert len(await executions_of(pg_api, workflow_id)) == 1
    recorded = await deliveries(pg_api, trigger)
    assert [d["status_code"] for d in recorded] == [401, 202, 202]


async def test_respond_wait_hears_the_node_finish(pg_api: Api) -> None:
    workflow_id = await create(pg_api, ECHO, name="answers")
    trigger = await create_trigger(
        pg_api,
        workflow_id,
        input={"x": "{{ body.x }}"},
        respond="wait",
        respond_node="double",
        wait_seconds=20,
    )
    async with served(pg_api) as client:
        request = client.post(f"/hooks/{trigger['id']}", json={"x": 5})
        response = await drained_while(pg_api, request)
    assert response.status_code == 200, response.text
    assert response.json() == {"x": 5}
