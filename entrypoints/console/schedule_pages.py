"""Schedule pages: every schedule of the workspace, one schedule's page and its form,
and the fire-time preview the form asks for as a cron expression is typed.

Viewers read; editors create, change, enable, disable and delete. A refused form comes
back with each problem beside its field; the form's *Preview* button (for browsers
without JavaScript) shows the next fire times without saving anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.errors import NotFound, UnstorableValue
from application.input_errors import InvalidInput
from application.queries.admin import AdminQueries
from application.queries.workflows import WorkflowQueries
from application.records import Schedule, Workflow
from application.use_cases.schedules import (
    OVERLAP_POLICIES,
    CreateSchedule,
    CreateScheduleHandler,
    DeleteSchedule,
    DeleteScheduleHandler,
    UpdateSchedule,
    UpdateScheduleHandler,
)
from entrypoints.console.admin_forms import (
    Confirmation,
    confirmation_page,
    notice_of,
    refused_field,
)
from entrypoints.console.fire_times import preview, show_time, timing_problems
from entrypoints.console.forms import field_refusal, form_fields, read_json_field
from entrypoints.console.presentation import pretty_json
from entrypoints.runtime import Runtime

# Enough for any workspace a person pages through; beyond it a schedule shows its
# workflow's id instead of its name.
WORKFLOW_LIMIT = 1000
NOTICES = {
    "schedule-created": "Schedule created.",
    "schedule-saved": "Schedule saved.",
    "schedule-enabled": "Schedule enabled.",
    "schedule-disabled": "Schedule disabled.",
    "schedule-deleted": "Schedule deleted.",
}
TEXT_FIELDS = ("workflow_id", "cron", "timezone", "input", "overlap")


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as the list shows it: with its workflow and its next fire time read in
    its own time zone."""

    schedule: Schedule
    workflow_name: str
    next_fire: str


def _now(request: Request[Any, Any, Any]) -> datetime:
    # The runtime's clock, so a test's fake clock decides what "next" means here too.
    runtime: Runtime = request.app.state["runtime"]
    return runtime.clock.now()


def _form_of(schedule: Schedule) -> dict[str, Any]:
    return {
        "workflow_id": schedule.workflow_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "input": "" if schedule.input is None else pretty_json(schedule.input),
        "overlap": schedule.overlap,
        "catch_up": schedule.catch_up,
        "enabled": schedule.enabled,
    }


def _read_form(fields: dict[str, str]) -> dict[str, Any]:
    form: dict[str, Any] = {name: fields.get(name, "").strip() for name in TEXT_FIELDS}
    form["timezone"] = form["timezone"] or "UTC"
    form["overlap"] = form["overlap"] or "allow"
    # An unticked checkbox sends nothing at all.
    form["catch_up"] = "catch_up" in fields
    form["enabled"] = "enabled" in fields
    return form


def _problems(form: dict[str, Any], now: datetime) -> tuple[dict[str, str], Any]:
    """Problems by field, found before any use case runs, and the input's value."""
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if refusal := field_refusal({name: form[name]}):
            errors[name] = refusal
    errors = {**timing_problems(form["cron"], form["timezone"], now), **errors}
    if form["overlap"] not in OVERLAP_POLICIES:
        errors["overlap"] = "Choose what happens on overlap: allow or skip."
    given = read_json_field(form["input"], "The input")
    if given.error is not None and "input" not in errors:
        errors["input"] = given.error
    return errors, given.value


class SchedulePages(Controller):
    path = "/console/schedules"
    include_in_schema = False

    @get("/")
    async def list_schedules(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> Template:
        workflows = await _workflows(workflow_queries, principal, include_archived=True)
        names = {workflow.id: workflow.name for workflow in workflows}
        schedules = await admin_queries.schedules(principal.workspace_id)
        rows = [
            ScheduleRow(
                schedule,
                names.get(schedule.workflow_id, schedule.workflow_id),
                show_time(schedule.next_fire_at, schedule.timezone)
                if schedule.next_fire_at and schedule.enabled
                else "",
            )
            for schedule in schedules
        ]
        rows.sort(key=lambda row: (row.workflow_name.casefold(), row.schedule.created_at))
        context = {
            "principal": principal,
            "nav": "schedules",
            "title": "Schedules",
            "rows": rows,
            "page_notice": notice_of(request, NOTICES),
        }
        return Template("schedules.html", context=context)

    @get("/preview", media_type=MediaType.JSON)
    async def preview_times(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        cron: Annotated[str, QueryParameter()] = "",
        timezone: Annotated[str, QueryParameter()] = "",
    ) -> Response[dict[str, object]]:
        """The next fire times of a cron read in a time zone, or why there are none (422)."""
        found = preview(cron.strip(), timezone.strip() or "UTC", _now(request))
        return Response(found.as_json(), status_code=422 if found.problems else 200)

    @get("/new")
    async def new_schedule(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        workflow: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        principal.require(Role.EDITOR)
        form = {
            "workflow_id": workflow or "",
            "cron": "0 9 * * *",
            "timezone": "UTC",
            "input": "",
            "overlap": "allow",
            "catch_up": False,
            "enabled": True,
        }
        return await _form_page(request, principal, workflow_queries, form, None)

    @post("/new", status_code=303)
    async def create_schedule(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        create_schedule: NamedDependency[CreateScheduleHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        form = _read_form(fields)
        if fields.get("intent") == "preview":
            return await _form_page(request, principal, workflow_queries, form, None)
        errors, value = _problems(form, _now(request))
        if not form["workflow_id"]:
            errors["workflow_id"] = "Choose the workflow to run."
        if not errors:
            command = CreateSchedule(
                principal.workspace_id,
                form["workflow_id"],
                form["cron"],
                form["timezone"],
                value,
                enabled=form["enabled"],
                overlap=form["overlap"],
                catch_up=form["catch_up"],
                actor=principal.actor,
            )
            try:
                created = await create_schedule(command)
            except NotFound as missing:
                errors["workflow_id"] = missing.message
            except InvalidInput as invalid:
                errors[refused_field(invalid, "input")] = invalid.message
            except UnstorableValue as unstorable:
                errors["input"] = unstorable.message
        if errors:
            return await _form_page(request, principal, workflow_queries, form, None, errors)
        return Redirect(f"/console/schedules/{created.id}?notice=schedule-created", status_code=303)

    @get("/{schedule_id:str}")
    async def show_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> Template:
        schedule = await admin_queries.schedule(principal.workspace_id, schedule_id)
        form = _form_of(schedule)
        return await _form_page(request, principal, workflow_queries, form, schedule)

    @post("/{schedule_id:str}", status_code=303)
    async def save_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        schedule = await admin_queries.schedule(principal.workspace_id, schedule_id)
        fields = await form_fields(request)
        # A schedule keeps its workflow: the form shows it but cannot change it.
        form = {**_read_form(fields), "workflow_id": schedule.workflow_id}
        if fields.get("intent") == "preview":
            return await _form_page(request, principal, workflow_queries, form, schedule)
        errors, value = _problems(form, _now(request))
        if not errors:
            command = UpdateSchedule(
                principal.workspace_id,
                schedule_id,
                cron=form["cron"],
                timezone=form["timezone"],
                input=value,
                enabled=form["enabled"],
                overlap=form["overlap"],
                catch_up=form["catch_up"],
                actor=principal.actor,
            )
            try:
                await update_schedule(command)
            except InvalidInput as invalid:
                errors[refused_field(invalid, "input")] = invalid.message
            except UnstorableValue as unstorable:
                errors["input"] = unstorable.message
        if errors:
            return await _form_page(request, principal, workflow_queries, form, schedule, errors)
        return Redirect(f"/console/schedules/{schedule_id}?notice=schedule-saved", status_code=303)

    @post("/{schedule_id:str}/enable", status_code=303)
    async def enable_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> Response[Any]:
        return await _switch(request, principal, update_schedule, schedule_id, enabled=True)

    @post("/{schedule_id:str}/disable", status_code=303)
    async def disable_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> Response[Any]:
        return await _switch(request, principal, update_schedule, schedule_id, enabled=False)

    @get("/{schedule_id:str}/delete")
    async def confirm_delete(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        principal.require(Role.EDITOR)
        schedule = await admin_queries.schedule(principal.workspace_id, schedule_id)
        asked = Confirmation(
            title="Delete schedule",
            question=f"Delete the schedule {schedule.cron!r} ({schedule.timezone})?",
            warning="Executions it already started are kept.",
            action=f"/console/schedules/{schedule.id}/delete",
            button="Delete schedule",
            back=f"/console/schedules/{schedule.id}",
            nav="schedules",
        )
        return confirmation_page(principal, asked)

    @post("/{schedule_id:str}/delete", status_code=303)
    async def delete_schedule(
        self,
        schedule_id: FromPath[str],
        principal: NamedDependency[Principal],
        delete_schedule: NamedDependency[DeleteScheduleHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        await delete_schedule(
            DeleteSchedule(principal.workspace_id, schedule_id, actor=principal.actor)
        )
        return Redirect("/console/schedules?notice=schedule-deleted", status_code=303)


async def _workflows(
    workflow_queries: WorkflowQueries, principal: Principal, include_archived: bool = False
) -> list[Workflow]:
    page = await workflow_queries.page(
        principal.workspace_id, include_archived=include_archived, limit=WORKFLOW_LIMIT
    )
    return page.items


async def _form_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    workflow_queries: WorkflowQueries,
    form: dict[str, Any],
    schedule: Schedule | None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The create form (`schedule` None) or a schedule's page, with the next fire times of
    the cron and time zone in `form`."""
    workflows = await _workflows(workflow_queries, principal, include_archived=True)
    workflow = next((w for w in workflows if w.id == form["workflow_id"]), None)
    context = {
        "principal": principal,
        "nav": "schedules",
        "title": "New schedule" if schedule is None else "Schedule",
        "schedule": schedule,
        "workflow": workflow,
        "workflows": [w for w in workflows if not w.archived],
        "form": form,
        "errors": errors or {},
        "fire": preview(form["cron"], form["timezone"], _now(request)),
        "overlaps": OVERLAP_POLICIES,
        "page_notice": None if errors else notice_of(request, NOTICES),
    }
    template = "schedule_form.html"
    return Template(template, context=context, status_code=422 if errors else 200)


async def _switch(
    request: Request[Any, Any, Any],
    principal: Principal,
    update_schedule: UpdateScheduleHandler,
    schedule_id: str,
    *,
    enabled: bool,
) -> Response[Any]:
    principal.require(Role.EDITOR)
    await update_schedule(
        UpdateSchedule(principal.workspace_id, schedule_id, enabled=enabled, actor=principal.actor)
    )
    # Back to the page the button was on: the list or the schedule's own page.
    fields = await form_fields(request)
    notice = "schedule-enabled" if enabled else "schedule-disabled"
    if fields.get("back") == "list":
        return Redirect(f"/console/schedules?notice={notice}", status_code=303)
    return Redirect(f"/console/schedules/{schedule_id}?notice={notice}", status_code=303)
