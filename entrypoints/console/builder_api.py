"""The workflow builder's calls from the page: check a definition as saving would, lay its
graph out, turn its text into a document and back, save it, and start a test run.

JSON in, JSON out, under /console with the cookie's principal and the same-origin guard,
so a page of this site is the only caller. Nothing here stores anything but `save` and
`run`, which do what the editor's form and the workflow page's run button do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import yaml
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from application.access import Principal, Role
from application.errors import Conflict, UnstorableValue
from application.input_errors import InvalidInput
from application.queries.workflows import WorkflowQueries
from application.save_checks import SaveCheck
from application.use_cases.create_workflow import (
    CreateWorkflow,
    CreateWorkflowHandler,
    SourceText,
)
from application.use_cases.start_run import StartRun, StartRunHandler
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from domain.errors import InvalidDefinition
from entrypoints.api.schemas.workflows import source_reader
from entrypoints.console.documents import lines_of_paths, read_definition_text
from entrypoints.console.graph_layout import GraphEdge, layered_layout


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationException("send a JSON object")
    return data


def _problems(check: SaveCheck) -> dict[str, Any]:
    return {
        "valid": check.valid,
        "problems": [problem.as_dict() for problem in check.problems],
        "warnings": [warning.as_dict() for warning in check.warnings],
    }


def _refused(error: InvalidDefinition, text: str | None = None) -> dict[str, Any]:
    found = [
        problem.as_dict() if hasattr(problem, "as_dict") else {"message": str(problem)}
        for problem in error.problems
    ]
    if text is not None:
        lines = lines_of_paths(text, [str(item.get("path", "")) for item in found])
        found = [{**item, "line": line} for item, line in zip(found, lines, strict=True)]
    return {"saved": False, "problems": found}


def layout_positions(document: Any) -> dict[str, dict[str, float]]:
    """Where the layered layout of the execution page puts each node of `document`."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    ids = [n["id"] for n in nodes or () if isinstance(n, dict) and isinstance(n.get("id"), str)]
    edges = [
        GraphEdge(str(e.get("from")), str(e.get("to")), e.get("when"))
        for e in (document.get("edges") or () if isinstance(document, dict) else ())
        if isinstance(e, dict)
    ]
    laid = layered_layout(ids, edges)
    return {box.id: {"x": box.x, "y": box.y} for box in laid.nodes}


def document_text(document: Any, text_format: str) -> str:
    """A document as the source tab shows it: indented JSON, or block-style YAML."""
    if text_format == "yaml":
        return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))
    return json.dumps(document, indent=2, ensure_ascii=False)


class BuilderCalls(Controller):
    path = "/console/builder"
    include_in_schema = False

    @post("/validate", status_code=200)
    async def validate(
        self,
        data: JSONBody[Any],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
    ) -> dict[str, Any]:
        """The problems and warnings saving `document` as `name` would meet."""
        body = _object(data)
        name = body.get("name") if isinstance(body.get("name"), str) else None
        check = await create_workflow.validate(principal.workspace_id, body.get("document"), name)
        return _problems(check)

    @post("/layout", status_code=200)
    async def layout(
        self, data: JSONBody[Any], principal: NamedDependency[Principal]
    ) -> dict[str, Any]:
        """The arranged position of every node (the "Arrange" button)."""
        del principal  # any signed-in role may arrange what it looks at
        return {"positions": layout_positions(_object(data).get("document"))}

    @post("/convert", status_code=200)
    async def convert(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Any],
        principal: NamedDependency[Principal],
    ) -> dict[str, Any]:
        """`{"text"}` -> `{"document", "format"}` (or `{"error"}`); `{"document", "format"}`
        -> `{"text"}`: the canvas and the source tab kept in step."""
        del principal
        body = _object(data)
        if isinstance(body.get("text"), str):
            text = body["text"]
            limit = request.route_handler.resolve_request_max_body_size()
            read = await asyncio.to_thread(read_definition_text, text, limit)
            if read.syntax_error:
                return {"error": read.syntax_error}
            text_format = "json" if text.strip().startswith(("{", "[")) else "yaml"
            return {"document": read.document, "format": text_format}
        text_format = "yaml" if body.get("format") == "yaml" else "json"
        return {"text": document_text(body.get("document"), text_format)}

    @post("/save", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Any],
        principal: NamedDependency[Principal],
        create_workflow: NamedDependency[CreateWorkflowHandler],
        update_workflow: NamedDependency[UpdateWorkflowHandler],
    ) -> dict[str, Any]:
        """Save the source text as a new workflow (no `workflow_id`) or its next version."""
        principal.require(Role.EDITOR)
        body = _object(data)
        text = str(body.get("text") or "")
        limit = request.route_handler.resolve_request_max_body_size()
        read = await asyncio.to_thread(read_definition_text, text, limit)
        if read.syntax_error:
            return {"saved": False, "error": read.syntax_error}
        description = str(body.get("description") or "")
        source = SourceText(text, source_reader(limit))
        try:
            if body.get("workflow_id"):
                command = UpdateWorkflow(
                    principal.workspace_id,
                    str(body["workflow_id"]),
                    description=description,
                    source=source,
                    actor=principal.actor,
                )
                workflow = await update_workflow(command)
            else:
                name = str(body.get("name") or "").strip()
                if not name:
                    return {"saved": False, "error": "Give the workflow a name."}
                created = CreateWorkflow(
                    principal.workspace_id,
                    name,
                    description=description,
                    source=source,
                    actor=principal.actor,
                )
                workflow = await create_workflow(created)
        except InvalidDefinition as error:
            return _refused(error, text)
        except (InvalidInput, UnstorableValue, Conflict) as error:
            return {"saved": False, "error": error.message}
        return {"saved": True, "workflow_id": workflow.id, "version": workflow.latest_version}

    @post("/{workflow_id:str}/run", status_code=200)
    async def run(
        self,
        workflow_id: FromPath[str],
        data: JSONBody[Any],
        principal: NamedDependency[Principal],
        workflow_queries: NamedDependency[WorkflowQueries],
        start_run: NamedDependency[StartRunHandler],
    ) -> dict[str, Any]:
        """Start the latest version with the test panel's input."""
        principal.require(Role.EDITOR)
        await workflow_queries.get(principal.workspace_id, workflow_id)  # 404 first
        body = _object(data)
        try:
            started = await start_run(
                StartRun(
                    principal.workspace_id, workflow_id, body.get("input"), actor=principal.actor
                )
            )
        except (InvalidInput, UnstorableValue) as error:
            return {"started": False, "error": error.message}
        return {"started": True, "execution_id": started.execution.id}
