"""A console over a fresh in-memory runtime, with a client that signs in by role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from tests.api.conftest import api_settings, issue_tokens

BASE = "http://console.test"
SAME_ORIGIN = {"Origin": BASE}


class Console:
    def __init__(self, client: AsyncTestClient[Any], tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    async def sign_in(self, who: str) -> None:
        self.client.cookies.clear()
        response = await self.client.post(
            "/console/sign-in", data={"token": self.tokens[who]}, headers=SAME_ORIGIN
        )
        assert response.status_code == 303, response.text

    async def post(self, path: str, **fields: str) -> Any:
        return await self.client.post(path, data=fields, headers=SAME_ORIGIN)

    async def workflow(self, definition: dict[str, Any], name: str = "wf") -> str:
        text = json.dumps(definition, indent=2)
        response = await self.post("/console/workflows/new", name=name, definition=text)
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).split("?")[0].rsplit("/", 1)[1]


@pytest.fixture
async def console() -> AsyncIterator[Console]:
    settings = api_settings()
    runtime = await bootstrap(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app, base_url=BASE) as client:
        client.follow_redirects = False
        yield Console(client, tokens)
    await runtime.close()
