"""The workspace's retention policy: any role reads it, admins change it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from application.access import Principal
from application.retention import RetentionSettings
from entrypoints.api.auth import ADMIN
from entrypoints.api.schemas.retention import RetentionOut, RetentionPut


def retention_settings(request: Request[Any, Any, Any]) -> RetentionSettings:
    """The retention service over the runtime's storage."""
    settings: RetentionSettings = request.app.state["runtime"].retention_settings()
    return settings


class RetentionController(Controller):
    path = "/retention"
    tags = ["retention"]
    dependencies = {"retention": Provide(retention_settings, sync_to_thread=False)}

    @get("/")
    async def get_retention(
        self, principal: NamedDependency[Principal], retention: NamedDependency[RetentionSettings]
    ) -> RetentionOut:
        """How long this workspace keeps finished executions and audit entries (the
        defaults until an admin sets a policy)."""
        return RetentionOut.of(await retention.policy_of(principal.workspace_id))

    @put("/", guards=[ADMIN])
    async def set_retention(
        self,
        data: JSONBody[RetentionPut],
        principal: NamedDependency[Principal],
        retention: NamedDependency[RetentionSettings],
    ) -> RetentionOut:
        """Replace the policy; 422 names every value out of bounds. The workers apply it
        on their next retention pass."""
        policy = await retention.set_policy(principal.workspace_id, data.policy(), principal.actor)
        return RetentionOut.of(policy)
