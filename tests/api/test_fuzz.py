"""Schemathesis over the served OpenAPI: no 5xx, and every response matches the schema.

Bounded (a few examples per operation) so it runs in the normal suite. The live streams
are left out: they stay open by design. Besides what the schema allows, the generated
bodies, queries and paths sometimes carry hostile values (NUL characters, nesting beyond
the limit, integers beyond 64 bits, crons that never fire): those must be 4xx too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from tests.api.conftest import api_settings, issue_tokens
from tests.strategies import hostile_crons, hostile_values, nul_strings, with_a_hostile_value

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _fuzzed_app() -> tuple[Any, str]:
    """An API over a fresh memory runtime, and an admin token for it."""
    settings_ = api_settings()

    async def build() -> tuple[Any, dict[str, str]]:
        runtime = await bootstrap(settings_)
        app = create_app(runtime, settings_)
        return app, await issue_tokens(runtime.services)

    loop = asyncio.new_event_loop()
    try:
        app, tokens = loop.run_until_complete(build())
    finally:
        loop.close()
    return app, tokens["a_admin"]


APP, TOKEN = _fuzzed_app()
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP).exclude(
    path_regex=r".*/stream$"
)


@schema.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or not body:
        return st.just(body)
    return st.one_of(st.just(body), with_a_hostile_value(body))


@schema.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _one_string_with_nul(query)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return _one_string_with_nul(path_parameters)


def _one_string_with_nul(values: Any) -> st.SearchStrategy[Any]:
    names = sorted(k for k, v in (values or {}).items() if isinstance(v, str))
    if not names:
        return st.just(values)
    planted = st.builds(
        lambda name, bad: {**values, name: bad}, st.sampled_from(names), nul_strings()
    )
    return st.one_of(st.just(values), planted)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)


def test_hostile_values_are_refused_with_a_4xx() -> None:
    """Drawn straight from the hostile strategies, on an app of its own (schemathesis keeps
    the lifespan of `APP`)."""
    app, token = _fuzzed_app()
    headers = {"Authorization": f"Bearer {token}"}
    definition = {"nodes": [{"id": "a", "kind": "noop"}], "edges": []}
    with TestClient(app=app, raise_server_exceptions=False) as client:
        body = {"name": "hostile", "definition": definition}
        workflow_id = client.post("/api/v1/workflows", json=body, headers=headers).json()["id"]

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(value=hostile_values(), cron=hostile_crons(), name=nul_strings())
        def refused(value: Any, cron: str, name: str) -> None:
            run = {"input": value}
            named = {"name": name, "definition": definition}
            scheduled = {"workflow_id": workflow_id, "cron": cron}
            statuses = [
                client.post(f"/api/v1/workflows/{workflow_id}/run", json=run, headers=headers),
                client.post("/api/v1/workflows", json=named, headers=headers),
                client.post("/api/v1/schedules", json=scheduled, headers=headers),
            ]
            codes = [response.status_code for response in statuses]
            assert all(400 <= code < 500 for code in codes), codes

        refused()
