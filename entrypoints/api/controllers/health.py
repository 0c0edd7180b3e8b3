"""Liveness and readiness probes (outside /api/v1, no token needed)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from entrypoints.api.schemas.common import Out


class HealthOut(Out):
    status: str


async def check_ready(runtime: Any) -> None:
    """Raise StorageError / SchemaOutOfDate unless the database answers at the current schema."""
    if runtime.postgres is None:
        return
    from adapters.postgres.migrate import ensure_schema_current

    await ensure_schema_current(runtime.postgres.engine)


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
        await check_ready(request.app.state["runtime"])
        return HealthOut(status="ready")
