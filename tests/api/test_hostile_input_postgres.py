"""Hostile input against PostgreSQL: what the database cannot hold is a 422, never a false
outage, and a real outage's 503 names no host, port or socket."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from adapters.postgres.migrate import upgrade
from application.errors import UnstorableValue
from application.use_cases.create_workflow import CreateWorkflow
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from tests.api.conftest import Api, api_settings, issue_tokens
from tests.api.workflows import ECHO, WAITS_FOR_GO
from tests.support.databases import drop_database, fresh_database_url

NUL = "\u0000"


@pytest.fixture(scope="module")
def database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_hostile")
    upgrade(url)
    yield url
    drop_database(url)


async def open_api(url: str) -> tuple[Api, Any]:
    settings = api_settings(database_url=url)
    runtime = await bootstrap(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    client = AsyncTestClient(app=app)
    return Api(app, runtime, runtime.services, client, tokens), client


@pytest.fixture
async def pg_api(database: str) -> AsyncIterator[Api]:
    api, client = await open_api(database)
    async with client:
        yield api
    await api.runtime.close()


async def workflow_names(api: Api) -> list[str]:
    response = await api.request("GET", "/api/v1/workflows?limit=200")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def create(api: Api, definition: dict[str, Any], name: str) -> str:
    body = {"name": name, "definition": definition}
    response = await api.request("POST", "/api/v1/workflows", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_nul_in_a_name_definition_input_or_payload_is_422_and_writes_nothing(
    pg_api: Api,
) -> None:
    before = await workflow_names(pg_api)
    for body in (
        {"name": f"nul{NUL}name", "definition": ECHO},
        {"name": "nul-description", "definition": ECHO, "description": NUL},
        {"name": "nul-definition", "definition": {**ECHO, "edges": [{"from": NUL, "to": "a"}]}},
    ):
        response = await pg_api.request("POST", "/api/v1/workflows", json=body)
        assert response.status_code == 422, response.text
        assert "Retry-After" not in response.headers
    assert await workflow_names(pg_api) == before
    workflow_id = await create(pg_api, WAITS_FOR_GO, "waits-nul")
    run = await pg_api.request("POST", f"/api/v1/workflows/{workflow_id}/run", json={"input": NUL})
    assert run.status_code == 422, run.text
    started = await pg_api.request("POST", f"/api/v1/workflows/{workflow_id}/run", json={})
    signal = f"/api/v1/executions/{started.json()['execution_id']}/signals/go"
    sent = await pg_api.request("POST", signal, json={"payload": {"note": f"a{NUL}b"}})
    assert sent.status_code == 422, sent.text
    assert sent.json()["error"]["details"][0]["path"] == "payload.note"


async def test_nul_in_a_path_or_query_is_422_not_an_outage(pg_api: Api) -> None:
    for method, path in (
        ("GET", "/api/v1/workflows/wf_%00"),
        ("GET", "/api/v1/workflows?name=%00"),
        ("DELETE", "/api/v1/secrets/a%00"),
    ):
        response = await pg_api.request(method, path)
        assert response.status_code == 422, (path, response.text)


async def test_integers_beyond_bigint_in_a_query_are_4xx_not_an_outage(pg_api: Api) -> None:
    workflow_id = await create(pg_api, ECHO, "bigint-query")
    started = await pg_api.request("POST", f"/api/v1/workflows/{workflow_id}/run", json={})
    events = f"/api/v1/executions/{started.json()['execution_id']}/events?after={2**63}"
    response = await pg_api.request("GET", events)
    assert 400 <= response.status_code < 500, response.text
    versions = f"/api/v1/workflows/{workflow_id}?version={2**64}"
    response = await pg_api.request("GET", versions)
    assert 400 <= response.status_code < 500, response.text


async def test_a_value_the_database_refuses_is_translated_to_unstorable_value(
    pg_api: Api,
) -> None:
    """The boundary refuses NUL first; the adapter's translation stands behind it."""
    services = pg_api.services
    space = await services.ensure_workspace()(_workspace("adapter-nul"))
    command = CreateWorkflow(space.id, "adapter-nul", ECHO, f"a{NUL}b")
    with pytest.raises(UnstorableValue) as refused:
        await pg_api.runtime.engine.create_workflow()(command)
    assert refused.value.code == "invalid_input"
    async with pg_api.runtime.uow_factory() as uow:
        assert await uow.workflows.get_by_name(space.id, "adapter-nul") is None


async def test_an_outage_is_503_with_a_generic_message_and_the_detail_in_the_log(
    postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = fresh_database_url(postgres_server_url, "treadle_outage")
    upgrade(url)
    api, client = await open_api(url)
    try:
        async with client:
            drop_database(url)  # ends every connection: the pool cannot get one back
            with caplog.at_level(logging.WARNING, logger="treadle.api"):
                response = await api.request("GET", "/api/v1/workflows")
    finally:
        await api.runtime.close()
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    error = response.json()["error"]
    assert error["code"] == "storage_unavailable"
    for leak in ("connection", "socket", "port", "host", "treadle_outage", "/"):
        assert leak not in error["message"], error["message"]
    assert "storage unavailable: the database failed" in caplog.text


def _workspace(name: str) -> Any:
    from application.use_cases.workspaces import EnsureWorkspace

    return EnsureWorkspace(name)
