"""Execution pages: the list with filters, one execution, and one node's details."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from application.access import Principal
from application.errors import NotFound
from application.queries.executions import ExecutionFilter, ExecutionQueries
from application.queries.workflows import WorkflowQueries
from application.records import StoredEvent
from domain.status import ExecutionStatus
from entrypoints.console.graph_view import draw_graph
from entrypoints.console.presentation import EXECUTION_STATUSES, timeline_item

PAGE_SIZE = 50
EVENTS_PAGE = 500
CHILDREN_SHOWN = 100


async def all_events(
    queries: ExecutionQueries, workspace_id: str, execution_id: str
) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    after: int | None = 0
    while after is not None:
        page = await queries.events(workspace_id, execution_id, after=after, limit=EVENTS_PAGE)
        events.extend(page.events)
        after = page.next_after
    return events


def attempts_of(events: list[StoredEvent], node_id: str) -> list[dict[str, Any]]:
    """One row per attempt of the node, oldest first, from its events."""
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.node_id != node_id:
            continue
        if event.type == "node_started":
            rows.append(
                {"attempt": event.attempt, "started": event.created_at, "outcome": "running"}
            )
        elif rows and event.type in _OUTCOMES:
            rows[-1].update(outcome=_OUTCOMES[event.type], ended=event.created_at)
            rows[-1]["error"] = event.payload.get("error")
    return rows


_OUTCOMES = {
    "node_succeeded": "succeeded",
    "node_failed": "failed",
    "node_retry_scheduled": "retrying",
    "node_waiting": "waiting",
    "node_interrupted": "interrupted",
    "node_cancelled": "cancelled",
}


class ExecutionPages(Controller):
    path = "/console/executions"
    include_in_schema = False

    @get("/")
    async def list_executions(
        self,
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
        status: Annotated[list[str] | None, QueryParameter()] = None,
        workflow: Annotated[str | None, QueryParameter()] = None,
        cursor: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        chosen = [s for s in status or [] if s in EXECUTION_STATUSES]
        where = ExecutionFilter(workflow or None, tuple(ExecutionStatus(s) for s in chosen))
        page = await execution_queries.page(
            principal.workspace_id, where, limit=PAGE_SIZE, cursor=cursor or None
        )
        workflows = await workflow_queries.page(
            principal.workspace_id, include_archived=True, limit=200
        )
        context = {
            "principal": principal,
            "nav": "executions",
            "title": "Executions",
            "executions": page.items,
            "next_cursor": page.next_cursor,
            "workflows": {w.id: w for w in workflows.items},
            "chosen_statuses": chosen,
            "chosen_workflow": workflow or "",
        }
        return Template("executions.html", context=context)

    @get("/{execution_id:str}")
    async def show_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
        node: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        return await execution_page(
            principal, execution_queries, workflow_queries, execution_id, node=node
        )

    @get("/{execution_id:str}/nodes/{node_id:str}")
    async def show_node(
        self,
        execution_id: FromPath[str],
        node_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
    ) -> Template:
        """The node panel alone, for the page's script to put in place."""
        workspace = principal.workspace_id
        detail = await execution_queries.get(workspace, execution_id)
        events = await all_events(execution_queries, workspace, execution_id)
        context = {
            "node": _node_context(detail.node_runs, events, node_id),
            "execution": detail.execution,
        }
        return Template("partials/node_panel.html", context=context)


async def execution_page(
    principal: Principal,
    execution_queries: ExecutionQueries,
    workflow_queries: WorkflowQueries,
    execution_id: str,
    *,
    node: str | None = None,
    status_code: int = 200,
    signal_form: dict[str, str] | None = None,
) -> Template:
    """The execution page; `signal_form` refills the signal form with what was sent and
    the error beside it."""
    workspace = principal.workspace_id
    detail = await execution_queries.get(workspace, execution_id)
    execution = detail.execution
    found = await workflow_queries.get(workspace, execution.workflow_id, execution.version)
    runs = {run.node_id: (run.status.value, run.attempt) for run in detail.node_runs}
    events = await all_events(execution_queries, workspace, execution_id)
    children = await execution_queries.page(
        workspace,
        ExecutionFilter(parent_execution_id=execution.id),
        limit=CHILDREN_SHOWN,
        cursor=None,
    )
    context = {
        "principal": principal,
        "nav": "executions",
        "title": f"{found.workflow.name} · {execution.id}",
        "execution": execution,
        "workflow": found.workflow,
        "graph": draw_graph(found.version.document, runs),
        "timeline": [timeline_item(event) for event in events],
        "last_seq": events[-1].seq if events else 0,
        "signals": await execution_queries.signals(workspace, execution_id),
        "node": _node_context(detail.node_runs, events, node) if node else None,
        "signal_form": signal_form or {},
        "children": children.items,
        "more_children": children.next_cursor is not None,
    }
    return Template("execution.html", context=context, status_code=status_code)


def _node_context(runs: list[Any], events: list[StoredEvent], node_id: str) -> dict[str, Any]:
    run = next((r for r in runs if r.node_id == node_id), None)
    attempts = attempts_of(events, node_id)
    if run is None and not any(event.node_id == node_id for event in events):
        raise NotFound(f"no node {node_id} has run in this execution")
    return {"id": node_id, "run": run, "attempts": attempts}
