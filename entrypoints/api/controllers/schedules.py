"""Cron schedules: create, list, get, update, enable, disable, delete."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from application.access import Principal
from application.queries.admin import AdminQueries
from application.use_cases.schedules import (
    UNCHANGED,
    CreateSchedule,
    CreateScheduleHandler,
    DeleteSchedule,
    DeleteScheduleHandler,
    UpdateSchedule,
    UpdateScheduleHandler,
)
from entrypoints.api.auth import EDITOR
from entrypoints.api.schemas.admin import ScheduleCreate, ScheduleOut, ScheduleUpdate


def _changes(data: ScheduleUpdate) -> dict[str, object]:
    fields = msgspec.structs.asdict(data)
    return {
        name: (UNCHANGED if value is msgspec.UNSET else value) for name, value in fields.items()
    }


class ScheduleController(Controller):
    path = "/schedules"
    tags = ["schedules"]

    @post("/", guards=[EDITOR])
    async def create_schedule(
        self,
        data: JSONBody[ScheduleCreate],
        principal: NamedDependency[Principal],
        create_schedule: NamedDependency[CreateScheduleHandler],
    ) -> ScheduleOut:
        """Run a workflow on a cron schedule read in `timezone` (an IANA name)."""
        command = CreateSchedule(
            workspace_id=principal.workspace_id,
            workflow_id=data.workflow_id,
            cron=data.cron,
            timezone=data.timezone,
            input=data.input,
            enabled=data.enabled,
            overlap=data.overlap,
            catch_up=data.catch_up,
            actor=principal.actor,
        )
        return ScheduleOut.of(await create_schedule(command))

    @get("/")
    async def list_schedules(
        self,
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        workflow_id: Annotated[str | None, QueryParameter()] = None,
    ) -> list[ScheduleOut]:
        found = await admin_queries.schedules(principal.workspace_id, workflow_id)
        return [ScheduleOut.of(s) for s in found]

    @get("/{schedule_id:str}")
    async def get_schedule(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
    ) -> ScheduleOut:
        return ScheduleOut.of(await admin_queries.schedule(principal.workspace_id, schedule_id))

    @patch("/{schedule_id:str}", guards=[EDITOR])
    async def update_schedule(
        self,
        schedule_id: FromPath[str],
        data: JSONBody[ScheduleUpdate],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> ScheduleOut:
        """Change the fields present; a new cron or time zone recomputes the next fire time."""
        command = UpdateSchedule(
            principal.workspace_id, schedule_id, **_changes(data), actor=principal.actor
        )
        return ScheduleOut.of(await update_schedule(command))

    @post("/{schedule_id:str}/enable", guards=[EDITOR], status_code=200)
    async def enable_schedule(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> ScheduleOut:
        command = UpdateSchedule(
            principal.workspace_id, schedule_id, enabled=True, actor=principal.actor
        )
        return ScheduleOut.of(await update_schedule(command))

    @post("/{schedule_id:str}/disable", guards=[EDITOR], status_code=200)
    async def disable_schedule(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> ScheduleOut:
        command = UpdateSchedule(
            principal.workspace_id, schedule_id, enabled=False, actor=principal.actor
        )
        return ScheduleOut.of(await update_schedule(command))

    @delete("/{schedule_id:str}", guards=[EDITOR])
    async def delete_schedule(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        delete_schedule: NamedDependency[DeleteScheduleHandler],
    ) -> None:
        await delete_schedule(
            DeleteSchedule(principal.workspace_id, schedule_id, actor=principal.actor)
        )
