"""The workflow builder's page: create a workflow or save a new version of one.

The page holds the canvas (built by the builder's scripts) and the source tab, a form
whose text may be JSON or YAML, so it saves without JavaScript too. Nothing is saved
unless the definition is valid; otherwise the page comes back with every problem listed
beside the editor, each with its path and the line it points at. A viewer sees the
canvas read only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.errors import Conflict, UnstorableValue
from application.input_errors import InvalidInput
from application.node_kinds import NodeKindCatalogue
from application.queries.admin import AdminQueries
from application.queries.workflows import WorkflowQueries
from application.records import Workflow
from application.use_cases.create_workflow import (
    CreateWorkflow,
    CreateWorkflowHandler,
    SourceText,
)
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from domain.errors import InvalidDefinition
from entrypoints.api.schemas.workflows import source_reader
from entrypoints.console.documents import (
    ReadText,
    as_editor_text,
    lines_of_paths,
    read_definition_text,
)
from entrypoints.console.forms import field_refusal, form_fields

STARTER = """{
  "nodes": [
    {"id": "greet", "kind": "transform",
     "config": {"output": {"message": "hello {{ input.name }}"}}},
    {"id": "done", "kind": "noop"}
  ],
  "edges": [
    {"from": "greet", "to": "done"}
  ]
}
"""


async def _read(request: Request[Any, Any, Any], fields: dict[str, str]) -> ReadText:
    """The definition field read off the event loop (a large YAML text takes a while),
    its document no larger as JSON than a request body may be."""
    refusal = field_refusal(fields)
    if refusal is not None:
        return ReadText(None, refusal)
    limit = request.route_handler.resolve_request_max_body_size()
    return await asyncio.to_thread(read_definition_text, definition_text(fields), limit)


def definition_text(fields: dict[str, str]) -> str:
    """The definition as typed: browsers send a text area's line ends as CRLF, which the
    author never wrote (the text area itself holds LF)."""
    return fields.get("definition", "").replace("\r\n", "\n")


async def _problems(text: str, error: InvalidDefinition) -> list[dict[str, Any]]:
    found = []
    for problem in error.problems:
        as_dict = getattr(problem, "as_dict", None)
        item = dict(as_dict()) if callable(as_dict) else {"message": str(problem), "path": ""}
        found.append(item)
    paths = [str(item.get("path", "")) for item in found]
    lines = await asyncio.to_thread(lines_of_paths, text, paths)
    return [{**item, "line": line} for item, line in zip(found, lines, strict=True)]


def _source(request: Request[Any, Any, Any], text: str) -> SourceText:
    """The editor's text, to be stored as the version's source, byte for byte."""
    return SourceText(text, source_reader(request.route_handler.resolve_request_max_body_size()))


@dataclass(frozen=True)
class BuilderSources:
    """What the builder's page shows besides the definition: the kinds and secret names."""

    node_kinds: NodeKindCatalogue
    admin_queries: AdminQueries

    async def context(
        self, principal: Principal, workflow: Workflow | None, readonly: bool = False
    ) -> dict[str, Any]:
        kinds = [_kind(found) for found in await self.node_kinds.listing()]
        secrets = await self.admin_queries.secrets(principal.workspace_id)
        builder = {
            "kinds": kinds,
            # Names only, for `{{ secrets.` completions; values never reach the page.
            "secrets": [secret.name for secret in secrets],
            "readonly": readonly,
            "workflow_id": workflow.id if workflow else None,
        }
        return {"kinds": kinds, "builder": builder, "readonly": readonly}


def _kind(found: Any) -> dict[str, Any]:
    """A kind for the palette and the node forms: its config's JSON Schema and example."""
    return {
        "kind": found.description.name,
        "title": found.description.title,
        "description": found.description.description,
        "builtin": found.builtin,
        "package": found.description.package,
        "config_schema": found.description.config_schema,
        "example": found.description.example,
        "last_seen_at": found.last_seen_at.isoformat() if found.last_seen_at else None,
    }


def _editor(principal: Principal, status: int = 200, **context: Any) -> Template:
    values = {
        "principal": principal,
        "workflow": None,
        "name": "",
        "description": "",
        "text": STARTER,
        "problems": [],
        "form_error": None,
        "nav": "workflows",
        **context,
    }
    values["title"] = (
        "New workflow" if values["workflow"] is None else "Edit " + values["workflow"].name
    )
    return Template("editor.html", context=values, status_code=status)


class EditorPages(Controller):
    path = "/console/workflows"
    include_in_schema = False

    @get("/new")
    async def new_workflow(
        self,
        principal: NamedDependency[Principal],
        node_kinds: NamedDependency[NodeKindCatalogue],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        principal.require(Role.EDITOR)
        sources = BuilderSources(node_kinds, admin_queries)
        return _editor(principal, **await sources.context(principal, None))

    @post("/new", status_code=303)
    async def create_workflow(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
        node_kinds: NamedDependency[NodeKindCatalogue],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        name, text = fields.get("name", "").strip(), definition_text(fields)
        description = fields.get("description", "")
        context: dict[str, Any] = {
            "name": name,
            "description": description,
            "text": text,
            **await BuilderSources(node_kinds, admin_queries).context(principal, None),
        }
        if not name:
            return _editor(principal, 422, form_error="Give the workflow a name.", **context)
        read = await _read(request, fields)
        if read.syntax_error:
            return _editor(principal, 422, form_error=read.syntax_error, **context)
        command = CreateWorkflow(
            principal.workspace_id,
            name,
            description=description,
            source=_source(request, text),
            actor=principal.actor,
        )
        try:
            workflow = await create_workflow(command)
        except InvalidDefinition as error:
            return _editor(principal, 422, problems=await _problems(text, error), **context)
        except (InvalidInput, UnstorableValue) as error:
            return _editor(principal, 422, form_error=error.message, **context)
        except Conflict as error:
            return _editor(principal, 409, form_error=error.message, **context)
        return Redirect(f"/console/workflows/{workflow.id}?notice=created", status_code=303)

    @get("/{workflow_id:str}/edit")
    async def edit_workflow(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        node_kinds: NamedDependency[NodeKindCatalogue],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        """The builder on the latest version; read only for a viewer."""
        found = await workflow_queries.get(principal.workspace_id, workflow_id)
        readonly = not principal.allows(Role.EDITOR)
        sources = BuilderSources(node_kinds, admin_queries)
        return _editor(
            principal,
            workflow=found.workflow,
            name=found.workflow.name,
            description=found.workflow.description,
            # What the author wrote, comments and all, when the version was saved as text.
            text=found.version.source or as_editor_text(found.version.document),
            **await sources.context(principal, found.workflow, readonly),
        )

    @post("/{workflow_id:str}/edit", status_code=303)
    async def save_version(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        update_workflow: NamedDependency[UpdateWorkflowHandler],
        node_kinds: NamedDependency[NodeKindCatalogue],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        found = await workflow_queries.get(principal.workspace_id, workflow_id)
        fields = await form_fields(request)
        text, description = definition_text(fields), fields.get("description", "")
        context = {
            "workflow": found.workflow,
            "name": found.workflow.name,
            "description": description,
            "text": text,
            **await BuilderSources(node_kinds, admin_queries).context(principal, found.workflow),
        }
        read = await _read(request, fields)
        if read.syntax_error:
            return _editor(principal, 422, form_error=read.syntax_error, **context)
        command = UpdateWorkflow(
            principal.workspace_id,
            workflow_id,
            description=description,
            source=_source(request, text),
            actor=principal.actor,
        )
        try:
            await update_workflow(command)
        except InvalidDefinition as error:
            return _editor(principal, 422, problems=await _problems(text, error), **context)
        except (InvalidInput, UnstorableValue) as error:
            return _editor(principal, 422, form_error=error.message, **context)
        return Redirect(f"/console/workflows/{workflow_id}?notice=saved", status_code=303)
