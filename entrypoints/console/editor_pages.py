"""The definition editor: create a workflow or save a new version of one.

The text may be JSON or YAML. Nothing is saved unless the definition is valid; otherwise
the page comes back with every problem listed beside the editor, each with its path
and the line it points at.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.errors import Conflict, UnstorableValue
from application.input_errors import InvalidInput
from application.node_kinds import NodeKindCatalogue
from application.queries.workflows import WorkflowQueries
from application.use_cases.create_workflow import CreateWorkflow, CreateWorkflowHandler
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from domain.errors import InvalidDefinition
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
    return await asyncio.to_thread(read_definition_text, fields.get("definition", ""), limit)


async def _problems(text: str, error: InvalidDefinition) -> list[dict[str, Any]]:
    found = []
    for problem in error.problems:
        as_dict = getattr(problem, "as_dict", None)
        item = dict(as_dict()) if callable(as_dict) else {"message": str(problem), "path": ""}
        found.append(item)
    paths = [str(item.get("path", "")) for item in found]
    lines = await asyncio.to_thread(lines_of_paths, text, paths)
    return [{**item, "line": line} for item, line in zip(found, lines, strict=True)]


async def _kinds(node_kinds: NodeKindCatalogue) -> list[dict[str, Any]]:
    """The palette: every kind, with its config's JSON Schema and example (for its form)."""
    return [
        {
            "kind": found.description.name,
            "title": found.description.title,
            "description": found.description.description,
            "builtin": found.builtin,
            "package": found.description.package,
            "config_schema": found.description.config_schema,
            "example": found.description.example,
            "last_seen_at": found.last_seen_at.isoformat() if found.last_seen_at else None,
        }
        for found in await node_kinds.listing()
    ]


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
        "kinds": [],
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
    ) -> Template:
        principal.require(Role.EDITOR)
        return _editor(principal, kinds=await _kinds(node_kinds))

    @post("/new", status_code=303)
    async def create_workflow(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
        node_kinds: NamedDependency[NodeKindCatalogue],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        name, text = fields.get("name", "").strip(), fields.get("definition", "")
        description = fields.get("description", "")
        context: dict[str, Any] = {
            "name": name,
            "description": description,
            "text": text,
            "kinds": await _kinds(node_kinds),
        }
        if not name:
            return _editor(principal, 422, form_error="Give the workflow a name.", **context)
        read = await _read(request, fields)
        if read.syntax_error:
            return _editor(principal, 422, form_error=read.syntax_error, **context)
        command = CreateWorkflow(principal.workspace_id, name, read.document, description)
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
    ) -> Template:
        principal.require(Role.EDITOR)
        found = await workflow_queries.get(principal.workspace_id, workflow_id)
        return _editor(
            principal,
            kinds=await _kinds(node_kinds),
            workflow=found.workflow,
            name=found.workflow.name,
            description=found.workflow.description,
            text=as_editor_text(found.version.document),
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
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        found = await workflow_queries.get(principal.workspace_id, workflow_id)
        fields = await form_fields(request)
        text, description = fields.get("definition", ""), fields.get("description", "")
        context = {
            "kinds": await _kinds(node_kinds),
            "workflow": found.workflow,
            "name": found.workflow.name,
            "description": description,
            "text": text,
        }
        read = await _read(request, fields)
        if read.syntax_error:
            return _editor(principal, 422, form_error=read.syntax_error, **context)
        command = UpdateWorkflow(principal.workspace_id, workflow_id, read.document, description)
        try:
            await update_workflow(command)
        except InvalidDefinition as error:
            return _editor(principal, 422, problems=await _problems(text, error), **context)
        except (InvalidInput, UnstorableValue) as error:
            return _editor(principal, 422, form_error=error.message, **context)
        return Redirect(f"/console/workflows/{workflow_id}?notice=saved", status_code=303)
