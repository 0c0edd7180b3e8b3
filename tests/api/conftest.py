"""An API over a fresh in-memory runtime, with tokens of every role in two workspaces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import SystemClock
from adapters.memory.store import InMemoryStore
from adapters.secrets.crypto import SecretCipher
from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from application.worker_loop import WorkerLoop, WorkerSettings
from entrypoints.api.app import create_app
from entrypoints.api.services import ApiServices
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings

SECRET_KEY = "a-test-secret-key-of-some-length"


@dataclass
class Api:
    """The app, its runtime and a bearer-token header per (workspace, role), and the
    in-memory store under it to look inside (None on PostgreSQL)."""

    app: Litestar
    runtime: Runtime
    services: ApiServices
    client: AsyncTestClient[Litestar]
    tokens: dict[str, str]
    store: InMemoryStore | None = None

    def auth(self, who: str = "a_admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def drain(self) -> int:
        """Run every due execution to its next stop, in this process."""
        engine = self.runtime.engine
        loop = WorkerLoop(
            WorkerSettings(worker_id="test-worker"),
            self.runtime.queue,
            engine.runner(),
            self.runtime.clock,
            engine.fire_schedules(),
        )
        return await loop.run_until_idle()

    async def request(self, method: str, path: str, who: str = "a_admin", **kwargs: Any) -> Any:
        return await self.client.request(method, path, headers=self.auth(who), **kwargs)


def api_settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {"database_url": None, "secret_key": SECRET_KEY, **changes}
    return Settings.model_validate(values)


async def memory_runtime(settings: Settings) -> tuple[Runtime, InMemoryStore]:
    """A runtime from the composition root over an in-memory store the test keeps."""
    clock = SystemClock()
    store = InMemoryStore(clock=clock)
    return await bootstrap(settings, clock=clock, storage=memory_storage(store)), store


async def issue_tokens(services: ApiServices) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for space in ("a", "b"):
        workspace = await services.ensure_workspace()(EnsureWorkspace(f"workspace-{space}"))
        for role in ("admin", "editor", "viewer"):
            created = await services.create_token()(CreateToken(workspace.id, role, role))
            tokens[f"{space}_{role}"] = created.secret
    return tokens


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    settings = api_settings(max_body_bytes=64 * 1024)
    runtime, store = await memory_runtime(settings)
    app = create_app(runtime, settings)
    tokens = await issue_tokens(runtime.services)
    async with AsyncTestClient(app=app) as client:
        yield Api(app, runtime, runtime.services, client, tokens, store)
    await runtime.close()


def cipher() -> SecretCipher:
    return SecretCipher(SECRET_KEY)
