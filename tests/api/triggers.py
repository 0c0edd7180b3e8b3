"""Helpers for the trigger tests: sign requests exactly as GitHub and Stripe do."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from tests.api.conftest import Api

DEADLINE = 30.0


def hex_hmac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def github_headers(secret: str, body: bytes, delivery: str, event: str = "push") -> dict[str, str]:
    """What GitHub sends: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body),
    }


def stripe_headers(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    """What Stripe sends: `Stripe-Signature: t=<ts>,v1=<hex HMAC of "{t}.{body}">`."""
    timestamp = int(time.time()) if at is None else at
    signature = hex_hmac(secret, f"{timestamp}.".encode() + body)
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={signature}"}


def payload(value: Any) -> bytes:
    return json.dumps(value).encode()


async def create_trigger(api: Api, workflow_id: str, who: str = "a_editor", **settings: Any) -> Any:
    body = {"workflow_id": workflow_id, **settings}
    response = await api.request("POST", "/api/v1/triggers", who, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def hook(api: Api, trigger: Any, body: bytes = b"", **kwargs: Any) -> Any:
    return await api.client.post(f"/hooks/{trigger['id']}", content=body, **kwargs)


async def executions_of(api: Api, workflow_id: str) -> list[Any]:
    response = await api.request("GET", f"/api/v1/workflows/{workflow_id}/executions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def execution(api: Api, execution_id: str) -> Any:
    response = await api.request("GET", f"/api/v1/executions/{execution_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def deliveries(api: Api, trigger: Any) -> list[Any]:
    response = await api.request("GET", f"/api/v1/triggers/{trigger['id']}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json())


@asynccontextmanager
async def served(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn in this process, so a request can wait on the server
    while the test runs the worker beside it."""
    config = uvicorn.Config(api.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(DEADLINE):
        while not server.started:
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)


async def drained_while(api: Api, request: Any) -> Any:
    """Run the worker in this process until `request` has its answer."""
    task = asyncio.ensure_future(request)
    async with asyncio.timeout(DEADLINE):
        while not task.done():
            await api.drain()
            await asyncio.sleep(0.02)
    return task.result()
