"""Workflows: create, validate, list, get (latest or a version), update, versions, archive,
run, and bulk runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from application.access import Principal
from application.document_limits import MAX_INTEGER
from application.input_errors import InvalidInput
from application.queries.workflows import WorkflowQueries
from application.use_cases.archive_workflow import ArchiveWorkflow, ArchiveWorkflowHandler
from application.use_cases.create_workflow import (
    CreateWorkflow,
    CreateWorkflowHandler,
    SourceText,
)
from application.use_cases.start_run import StartRunHandler
from application.use_cases.start_runs import StartRuns, StartRunsHandler
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from entrypoints.api.auth import EDITOR
from entrypoints.api.errors import error_response, validation_error
from entrypoints.api.schemas.workflows import (
    BulkRunOut,
    BulkRunRequest,
    RunOut,
    RunRequest,
    VersionOut,
    WorkflowCheck,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowOut,
    WorkflowPage,
    WorkflowSaved,
    WorkflowUpdate,
    source_reader,
)

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=200,
        description="the same key returns the execution the first request made (200)",
        examples=[Example(value="order-1234")],
    ),
]


def source_of(
    request: Request[Any, Any, Any], definition: dict[str, Any] | None, source: str | None
) -> SourceText | None:
    """The body's source text for the use case; refuses a body with neither field (both
    are refused by the use case, which reads the source)."""
    if definition is None and source is None:
        raise InvalidInput(
            "definition",
            "give either `definition` (the definition as an object) or `source` (its JSON or"
            " YAML text)",
        )
    if source is None:
        return None
    return SourceText(source, source_reader(request.route_handler.resolve_request_max_body_size()))


def bulk_run_refused(request: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    """A run of a bulk request that does not fit the schema is a 422 with its path, as a
    value refused later would be; anything else about the body is the usual 400."""
    details = error.extra if isinstance(error.extra, list) else []
    for detail in details:
        path = detail.get("key") if isinstance(detail, dict) else None
        if isinstance(path, str) and path.startswith("runs["):
            message = str(detail.get("message") or "not acceptable")
            return error_response(
                422,
                InvalidInput.code,
                f"{path}: {message}",
                [{"path": path, "message": message}],
            )
    return validation_error(request, error)


class WorkflowController(Controller):
    path = "/workflows"
    tags = ["workflows"]

    @post("/", guards=[EDITOR])
    async def create_workflow(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[WorkflowCreate],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> WorkflowSaved:
        """Save a workflow from `definition` or from `source` (its JSON or YAML text, kept as
        written); an invalid definition is a 422 listing every problem, and what is only
        suspect (a secret not stored yet) comes back as `warnings`."""
        command = CreateWorkflow(
            principal.workspace_id,
            data.name,
            data.definition,
            data.description,
            source=source_of(request, data.definition, data.source),
            actor=principal.actor,
        )
        saved = await create_workflow.save(command)
        found = await workflow_queries.get(principal.workspace_id, saved.workflow.id)
        return WorkflowSaved.saved(found.workflow, found.version, saved.warnings)

    @post("/validate", guards=[EDITOR], status_code=200)
    async def validate_workflow(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[WorkflowCreate],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
    ) -> WorkflowCheck:
        """Check a workflow as creating it would, and store nothing: 200 with `valid`, the
        `problems` that would refuse it and the `warnings` that would not."""
        source = source_of(request, data.definition, data.source)
        check = await create_workflow.validate(
            principal.workspace_id, data.definition, data.name, source
        )
        return WorkflowCheck.of(check)

    @get("/")
    async def list_workflows(
        self,
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        name: Annotated[str | None, QueryParameter(description="part of the name")] = None,
        include_archived: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> WorkflowPage:
        page = await workflow_queries.page(
            principal.workspace_id,
            name=name,
            include_archived=include_archived,
            limit=limit,
            cursor=cursor,
        )
        return WorkflowPage(
            items=[WorkflowOut.of(w) for w in page.items], next_cursor=page.next_cursor
        )

    @get("/{workflow_id:str}")
    async def get_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        version: Annotated[int | None, QueryParameter(ge=1, le=MAX_INTEGER)] = None,
    ) -> WorkflowDetail:
        found = await workflow_queries.get(principal.workspace_id, workflow_id, version)
        return WorkflowDetail.with_version(found.workflow, found.version)

    @put("/{workflow_id:str}", guards=[EDITOR])
    async def update_workflow(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[str],
        data: JSONBody[WorkflowUpdate],
        principal: NamedDependency[Principal],
        update_workflow: NamedDependency[UpdateWorkflowHandler],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> WorkflowSaved:
        """Save a new version from `definition` or `source`; running executions keep the
        version they started with. When the definition and its source equal the latest
        version's, no version is made: `unchanged` is true and the latest one is answered
        (a new `description` is still kept)."""
        command = UpdateWorkflow(
            principal.workspace_id,
            workflow_id,
            data.definition,
            data.description,
            source=source_of(request, data.definition, data.source),
            actor=principal.actor,
        )
        saved = await update_workflow.save(command)
        found = await workflow_queries.get(principal.workspace_id, workflow_id)
        return WorkflowSaved.saved(found.workflow, found.version, saved.warnings, saved.unchanged)

    @get("/{workflow_id:str}/versions")
    async def list_versions(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> list[VersionOut]:
        versions = await workflow_queries.versions(principal.workspace_id, workflow_id)
        return [VersionOut.of(v) for v in versions]

    @get("/{workflow_id:str}/versions/{version:int}")
    async def get_version(
        self,
        workflow_id: FromPath[str],
        version: FromPath[int],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> VersionOut:
        found = await workflow_queries.get(principal.workspace_id, workflow_id, version)
        return VersionOut.of(found.version)

    @post("/{workflow_id:str}/archive", guards=[EDITOR], status_code=200)
    async def archive_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        archive_workflow: NamedDependency[ArchiveWorkflowHandler],
    ) -> WorkflowOut:
        """Archived workflows cannot be run or scheduled; their executions stay readable."""
        workflow = await archive_workflow(
            ArchiveWorkflow(principal.workspace_id, workflow_id, actor=principal.actor)
        )
        return WorkflowOut.of(workflow)

    @post(
        "/{workflow_id:str}/run",
        guards=[EDITOR],
        status_code=201,
        responses={200: ResponseSpec(RunOut, description="the same Idempotency-Key was used")},
    )
    async def run_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        start_run: NamedDependency[StartRunHandler],
        data: JSONBody[RunRequest | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RunOut]:
        """Start an execution and return at once with its id (201; 200 for a repeated key)."""
        body = data or RunRequest()
        command = body.command(principal.workspace_id, workflow_id, idempotency_key)
        started = await start_run(replace(command, actor=principal.actor))
        return Response(RunOut.of(started), status_code=201 if started.created else 200)

    @post(
        "/{workflow_id:str}/runs",
        guards=[EDITOR],
        status_code=201,
        responses={
            200: ResponseSpec(BulkRunOut, description="every run's idempotency key was used")
        },
        exception_handlers={ValidationException: bulk_run_refused},
    )
    async def run_workflow_many(
        self,
        workflow_id: FromPath[str],
        data: JSONBody[BulkRunRequest],
        principal: NamedDependency[Principal],
        start_runs: NamedDependency[StartRunsHandler],
    ) -> Response[BulkRunOut]:
        """Start up to 1,000 executions in one transaction, all or none, and return their ids
        in the order of `runs` (201; 200 when every one was made earlier under its key). A
        run that is not acceptable is a 422 naming it (`runs[3].start_at`)."""
        space = principal.workspace_id
        runs = [run.command(space, workflow_id, run.idempotency_key) for run in data.runs]
        started = await start_runs(StartRuns(space, workflow_id, runs, actor=principal.actor))
        created = sum(one.created for one in started)
        out = BulkRunOut(runs=[RunOut.of(one) for one in started], created=created)
        return Response(out, status_code=201 if created else 200)
