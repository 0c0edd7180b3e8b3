"""Webhook triggers: create, list, get, update, enable, disable, delete, deliveries."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from application.access import Principal
from application.queries.triggers import TriggerQueries
from application.use_cases.triggers import (
    CreateTrigger,
    CreateTriggerHandler,
    DeleteTrigger,
    DeleteTriggerHandler,
    TriggerSettings,
    UpdateTrigger,
    UpdateTriggerHandler,
)
from application.use_cases.triggers import TriggerSaved as Saved
from entrypoints.api.auth import EDITOR
from entrypoints.api.schemas.triggers import (
    DeliveryOut,
    TriggerCreate,
    TriggerOut,
    TriggerSaved,
    TriggerUpdate,
)

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="how many, newest first")]


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url)


def _saved(saved: Saved, request: Request[Any, Any, Any]) -> TriggerSaved:
    shown = msgspec.structs.asdict(TriggerOut.of(saved.trigger, _base(request)))
    return TriggerSaved(**shown, secret=saved.secret)


def _settings(data: TriggerCreate) -> TriggerSettings:
    fields = msgspec.structs.asdict(data)
    fields.pop("workflow_id")
    fields["input_template"] = fields.pop("input")
    fields["headers"] = tuple(fields["headers"])
    return TriggerSettings(**fields)


def _changes(data: TriggerUpdate) -> dict[str, Any]:
    fields = msgspec.structs.asdict(data)
    changes = {name: value for name, value in fields.items() if value is not msgspec.UNSET}
    if "input" in changes:
        changes["input_template"] = changes.pop("input")
    if "headers" in changes:
        changes["headers"] = tuple(changes["headers"])
    return changes


class TriggerController(Controller):
    path = "/triggers"
    tags = ["triggers"]

    @post("/", guards=[EDITOR])
    async def create_trigger(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TriggerCreate],
        principal: NamedDependency[Principal],
        create_trigger: NamedDependency[CreateTriggerHandler],
    ) -> TriggerSaved:
        """A public URL, `POST /hooks/{id}`, that starts a run of the workflow. A made
        secret is in the answer this once."""
        command = CreateTrigger(
            principal.workspace_id, data.workflow_id, _settings(data), actor=principal.actor
        )
        return _saved(await create_trigger(command), request)

    @get("/")
    async def list_triggers(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        trigger_queries: NamedDependency[TriggerQueries],
        workflow_id: Annotated[str | None, QueryParameter()] = None,
    ) -> list[TriggerOut]:
        found = await trigger_queries.search(principal.workspace_id, workflow_id)
        return [TriggerOut.of(t, _base(request)) for t in found]

    @get("/{trigger_id:str}")
    async def get_trigger(
        self,
        request: Request[Any, Any, Any],
        trigger_id: FromPath[str],
        principal: NamedDependency[Principal],
        trigger_queries: NamedDependency[TriggerQueries],
    ) -> TriggerOut:
        found = await trigger_queries.get(principal.workspace_id, trigger_id)
        return TriggerOut.of(found, _base(request))

    @get("/{trigger_id:str}/deliveries")
    async def list_deliveries(
        self,
        trigger_id: FromPath[str],
        principal: NamedDependency[Principal],
        trigger_queries: NamedDependency[TriggerQueries],
        limit: Limit = 20,
    ) -> list[DeliveryOut]:
        """The requests the trigger answered, newest first (the last 100 are kept)."""
        found = await trigger_queries.deliveries(principal.workspace_id, trigger_id, limit)
        return [DeliveryOut.of(d) for d in found]

    @patch("/{trigger_id:str}", guards=[EDITOR])
    async def update_trigger(
        self,
        request: Request[Any, Any, Any],
        trigger_id: FromPath[str],
        data: JSONBody[TriggerUpdate],
        principal: NamedDependency[Principal],
        update_trigger: NamedDependency[UpdateTriggerHandler],
    ) -> TriggerSaved:
        """Change the fields present. A verification that needs a secret the trigger does
        not have yet gets a made one, shown this once."""
        command = UpdateTrigger(
            principal.workspace_id, trigger_id, _changes(data), actor=principal.actor
        )
        return _saved(await update_trigger(command), request)

    @post("/{trigger_id:str}/enable", guards=[EDITOR], status_code=200)
    async def enable_trigger(
        self,
        request: Request[Any, Any, Any],
        trigger_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_trigger: NamedDependency[UpdateTriggerHandler],
    ) -> TriggerOut:
        command = UpdateTrigger(
            principal.workspace_id, trigger_id, {"enabled": True}, actor=principal.actor
        )
        return TriggerOut.of((await update_trigger(command)).trigger, _base(request))

    @post("/{trigger_id:str}/disable", guards=[EDITOR], status_code=200)
    async def disable_trigger(
        self,
        request: Request[Any, Any, Any],
        trigger_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_trigger: NamedDependency[UpdateTriggerHandler],
    ) -> TriggerOut:
        """A disabled trigger's URL answers 404 until it is enabled again."""
        command = UpdateTrigger(
            principal.workspace_id, trigger_id, {"enabled": False}, actor=principal.actor
        )
        return TriggerOut.of((await update_trigger(command)).trigger, _base(request))

    @delete("/{trigger_id:str}", guards=[EDITOR])
    async def delete_trigger(
        self,
        trigger_id: FromPath[str],
        principal: NamedDependency[Principal],
        delete_trigger: NamedDependency[DeleteTriggerHandler],
    ) -> None:
        await delete_trigger(
            DeleteTrigger(principal.workspace_id, trigger_id, actor=principal.actor)
        )
