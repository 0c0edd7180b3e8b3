"""Liveness and readiness probes (outside /api/v1, no token needed)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from application.ports.readiness import Readiness
from entrypoints.api.schemas.common import Out


class HealthOut(Out):
    status: str


class HealthController(Controller):
    path = "/"
    tags = ["health"]
    include_in_schema = True

    @get("/healthz")
    async def healthz(self) -> HealthOut:
        """The process is up."""
        return HealthOut(status="ok")

    @get("/readyz")
    async def readyz(self, request: Request[Any, Any, Any]) -> HealthOut:
        """The database is reachable and its schema is current (503 otherwise)."""
        readiness: Readiness = request.app.state["readiness"]
        await readiness.check()
        return HealthOut(status="ready")
