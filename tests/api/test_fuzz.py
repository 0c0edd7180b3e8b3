"""Schemathesis over the served OpenAPI: no 5xx, and every response matches the schema.

Bounded (a few examples per operation) so it runs in the normal suite. The live streams
are left out: they stay open by design.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.api.app import create_app
from entrypoints.runtime import open_runtime
from tests.api.conftest import api_settings, issue_tokens

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
        runtime = await open_runtime(settings_)
        app = create_app(runtime, settings_)
        return app, await issue_tokens(app.state["services"])

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


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
