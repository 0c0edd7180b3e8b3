"""Workflow pages: the list, one workflow (graph, versions, run, schedules, triggers),
two of its versions side by side, and archiving it."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.document_limits import MAX_INTEGER
from application.errors import UnstorableValue
from application.input_errors import InvalidInput
from application.queries.admin import AdminQueries
from application.queries.audit import AuditQueries
from application.queries.executions import ExecutionFilter, ExecutionQueries
from application.queries.triggers import TriggerQueries
from application.queries.workflows import WorkflowQueries
from application.use_cases.archive_workflow import ArchiveWorkflow, ArchiveWorkflowHandler
from application.use_cases.schedules import (
    CreateSchedule,
    CreateScheduleHandler,
    UpdateSchedule,
    UpdateScheduleHandler,
)
from application.use_cases.start_run import StartRun, StartRunHandler
from entrypoints.console.documents import as_editor_text
from entrypoints.console.forms import field_refusal, form_fields, read_json_field
from entrypoints.console.graph_view import draw_graph
from entrypoints.console.version_diff import diff_documents

RECENT_EXECUTIONS = 8
RECENT_DELIVERIES = 5

VersionParameter = Annotated[int | None, QueryParameter(ge=1, le=MAX_INTEGER)]


def _back_to_schedules(workflow_id: str, notice: str) -> Response[Any]:
    return Redirect(f"/console/workflows/{workflow_id}?notice={notice}#schedules", status_code=303)


class WorkflowServices:
    """The queries one workflow page reads from, gathered to keep signatures short."""

    def __init__(
        self,
        workflows: WorkflowQueries,
        executions: ExecutionQueries,
        admin: AdminQueries,
        triggers: TriggerQueries,
        audit: AuditQueries,
    ) -> None:
        self.workflows, self.executions, self.admin = workflows, executions, admin
        self.triggers, self.audit = triggers, audit


async def _workflow_page(
    services: WorkflowServices,
    principal: Principal,
    workflow_id: str,
    version: int | None = None,
    status: int = 200,
    **context: Any,
) -> Template:
    workspace = principal.workspace_id
    found = await services.workflows.get(workspace, workflow_id, version)
    recent = await services.executions.page(
        workspace, ExecutionFilter(workflow_id), limit=RECENT_EXECUTIONS, cursor=None
    )
    values = {
        "principal": principal,
        "nav": "workflows",
        "title": found.workflow.name,
        "workflow": found.workflow,
        "version": found.version,
        "versions": await services.workflows.versions(workspace, workflow_id),
        # Who made each version (admins: from the audit log).
        "authors": await services.audit.version_authors(principal, workflow_id),
        "graph": draw_graph(found.version.document),
        "definition_text": as_editor_text(found.version.document),
        "schedules": await services.admin.schedules(workspace, workflow_id),
        "triggers": await services.triggers.with_deliveries(
            workspace, workflow_id, RECENT_DELIVERIES
        ),
        "executions": recent.items,
        "run_input": "{}",
        "run_error": None,
        "schedule": {"cron": "0 9 * * *", "timezone": "UTC", "input": ""},
        "schedule_error": None,
        **context,
    }
    return Template("workflow.html", context=values, status_code=status)


def _services(
    workflow_queries: NamedDependency[WorkflowQueries],
    execution_queries: NamedDependency[ExecutionQueries],
    admin_queries: NamedDependency[AdminQueries],
    trigger_queries: NamedDependency[TriggerQueries],
    audit_queries: NamedDependency[AuditQueries],
) -> WorkflowServices:
    return WorkflowServices(
        workflow_queries, execution_queries, admin_queries, trigger_queries, audit_queries
    )


class WorkflowPages(Controller):
    path = "/console/workflows"
    include_in_schema = False
    dependencies = {"pages": Provide(_services, sync_to_thread=False)}

    @get("/")
    async def list_workflows(
        self,
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        q: Annotated[str | None, QueryParameter(description="part of the name")] = None,
    ) -> Template:
        page = await workflow_queries.page(principal.workspace_id, name=q or None, limit=200)
        context = {
            "principal": principal,
            "nav": "workflows",
            "title": "Workflows",
            "workflows": page.items,
            "q": q or "",
        }
        return Template("workflows.html", context=context)

    @get("/{workflow_id:str}")
    async def show_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        pages: NamedDependency[WorkflowServices],
        version: VersionParameter = None,
    ) -> Template:
        return await _workflow_page(pages, principal, workflow_id, version)

    @post("/{workflow_id:str}/run", status_code=303)
    async def run_workflow(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        pages: NamedDependency[WorkflowServices],
        start_run: NamedDependency[StartRunHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        given = read_json_field(fields.get("input", ""), "The input")
        error = given.error
        if error is None:
            try:
                command = StartRun(
                    principal.workspace_id, workflow_id, given.value, actor=principal.actor
                )
                started = await start_run(command)
            except (InvalidInput, UnstorableValue) as invalid:
                error = invalid.message
        if error is not None:
            return await _workflow_page(
                pages,
                principal,
                workflow_id,
                status=422,
                run_input=given.text,
                run_error=error,
            )
        return Redirect(
            f"/console/executions/{started.execution.id}?notice=started", status_code=303
        )

    @post("/{workflow_id:str}/schedules", status_code=303)
    async def create_schedule(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        pages: NamedDependency[WorkflowServices],
        create_schedule: NamedDependency[CreateScheduleHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        form = {key: fields.get(key, "").strip() for key in ("cron", "timezone", "input")}
        given = read_json_field(form["input"], "The schedule's input")
        error = field_refusal(form) or given.error
        if error is None:
            command = CreateSchedule(
                principal.workspace_id,
                workflow_id,
                form["cron"],
                form["timezone"] or "UTC",
                given.value,
                actor=principal.actor,
            )
            try:
                await create_schedule(command)
            except (InvalidInput, UnstorableValue) as invalid:
                error = invalid.message
        if error is not None:
            return await _workflow_page(
                pages, principal, workflow_id, status=422, schedule=form, schedule_error=error
            )
        return _back_to_schedules(workflow_id, "scheduled")

    @post("/{workflow_id:str}/schedules/{schedule_id:str}/{action:str}", status_code=303)
    async def switch_schedule(
        self,
        workflow_id: FromPath[str],
        schedule_id: FromPath[str],
        action: FromPath[str],
        principal: NamedDependency[Principal],
        update_schedule: NamedDependency[UpdateScheduleHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        if action not in {"enable", "disable"}:
            raise InvalidInput("action", "a schedule can be enabled or disabled")
        enabled = action == "enable"
        await update_schedule(
            UpdateSchedule(
                principal.workspace_id, schedule_id, enabled=enabled, actor=principal.actor
            )
        )
        return _back_to_schedules(workflow_id, "enabled" if enabled else "disabled")

    @get("/{workflow_id:str}/diff")
    async def diff_versions(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        from_version: Annotated[
            int | None, QueryParameter(name="from", ge=1, le=MAX_INTEGER)
        ] = None,
        to_version: Annotated[int | None, QueryParameter(name="to", ge=1, le=MAX_INTEGER)] = None,
    ) -> Template:
        """Two versions' normalised definitions side by side (by default the one before the
        latest against the latest); an unknown version is a 404."""
        workspace = principal.workspace_id
        latest = await workflow_queries.get(workspace, workflow_id)
        newest = latest.workflow.latest_version
        to_number = to_version or newest
        from_number = from_version or max(to_number - 1, 1)
        # Each version read once: the latest is often one side, and a v1 both.
        read = {newest: latest}
        for number in {from_number, to_number} - read.keys():
            read[number] = await workflow_queries.get(workspace, workflow_id, number)
        old, new = read[from_number], read[to_number]
        context = {
            "principal": principal,
            "nav": "workflows",
            "title": f"{latest.workflow.name} · v{from_number} → v{to_number}",
            "workflow": latest.workflow,
            "old": old.version,
            "new": new.version,
            "versions": await workflow_queries.versions(workspace, workflow_id),
            "diff": diff_documents(old.version.document, new.version.document),
        }
        return Template("diff.html", context=context)

    @post("/{workflow_id:str}/archive", status_code=303)
    async def archive_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        archive_workflow: NamedDependency[ArchiveWorkflowHandler],
    ) -> Response[Any]:
        """Archive it (editors): it can no longer be run; its history stays readable."""
        principal.require(Role.EDITOR)
        await archive_workflow(
            ArchiveWorkflow(principal.workspace_id, workflow_id, actor=principal.actor)
        )
        return Redirect(f"/console/workflows/{workflow_id}?notice=archived", status_code=303)
