"""Execution pages: the list with filters, one execution, and one node's details."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from application.access import Principal
from application.errors import NotFound
from application.input_errors import InvalidInput
from application.queries.audit import AuditQueries
from application.queries.executions import ExecutionFilter, ExecutionQueries
from application.queries.pagination import Page
from application.queries.triggers import TriggerQueries
from application.queries.workflows import WorkflowQueries
from application.records import StoredEvent
from application.triggers.records import Trigger
from domain.execution import Execution
from domain.status import ExecutionStatus
from entrypoints.console.graph_view import draw_graph
from entrypoints.console.presentation import EXECUTION_STATUSES, origin_of, timeline_item

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


class DayRange:
    """The list's date filter: whole days in UTC, both ends included (`created_from` and
    `created_to`, as `YYYY-MM-DD`, what a date field sends)."""

    def __init__(self, first: date | None, last: date | None) -> None:
        self.first, self.last = first, last

    @classmethod
    def read(cls, first: str | None, last: str | None) -> DayRange:
        return cls(_day(first, "created_from"), _day(last, "created_to"))

    @property
    def after(self) -> datetime | None:
        """The API's `created_after` is exclusive: just before midnight starting the day."""
        if self.first is None:
            return None
        return datetime.combine(self.first, time(), UTC) - timedelta(microseconds=1)

    @property
    def before(self) -> datetime | None:
        """The API's `created_before` is exclusive: midnight ending the day."""
        if self.last is None:
            return None
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    @property
    def first_text(self) -> str:
        return self.first.isoformat() if self.first else ""

    @property
    def last_text(self) -> str:
        return self.last.isoformat() if self.last else ""


def _day(text: str | None, field: str) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a date (YYYY-MM-DD)") from None


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
        trigger_queries: NamedDependency[TriggerQueries],
        status: Annotated[list[str] | None, QueryParameter()] = None,
        workflow: Annotated[str | None, QueryParameter()] = None,
        cursor: Annotated[str | None, QueryParameter()] = None,
        id: Annotated[str | None, QueryParameter(description="a whole execution id")] = None,
        created_from: Annotated[str | None, QueryParameter()] = None,
        created_to: Annotated[str | None, QueryParameter()] = None,
        parent: Annotated[str | None, QueryParameter()] = None,
    ) -> Template | Redirect:
        workspace = principal.workspace_id
        wanted = (id or "").strip()
        if wanted:
            # An exact id jumps to that execution. Ids are random, so a prefix would need
            # a search of its own in storage; only whole ids are looked up.
            try:
                found = await execution_queries.status(workspace, wanted)
            except NotFound:
                found = None
            if found is not None:
                return Redirect(f"/console/executions/{found.id}", status_code=303)
        chosen = [s for s in status or [] if s in EXECUTION_STATUSES]
        days = DayRange.read(created_from, created_to)
        where = ExecutionFilter(
            workflow or None,
            tuple(ExecutionStatus(s) for s in chosen),
            created_after=days.after,
            created_before=days.before,
            parent_execution_id=parent or None,
        )
        page: list[Execution] = []
        next_cursor = None
        if not wanted:
            listed = await execution_queries.page(
                workspace, where, limit=PAGE_SIZE, cursor=cursor or None
            )
            page, next_cursor = listed.items, listed.next_cursor
        workflows = await workflow_queries.page(workspace, include_archived=True, limit=200)
        webhooks = await trigger_queries.started_by(workspace, {e.workflow_id for e in page})
        filters = {
            "status": chosen,
            "workflow": workflow or "",
            "created_from": days.first_text,
            "created_to": days.last_text,
            "parent": parent or "",
        }
        context = {
            "principal": principal,
            "nav": "executions",
            "title": "Executions",
            "executions": page,
            "origins": {e.id: origin_of(e, webhooks) for e in page},
            "next_cursor": next_cursor,
            "workflows": {w.id: w for w in workflows.items},
            "chosen_statuses": chosen,
            "chosen_workflow": workflow or "",
            "filters": filters,
            "filtered": any(filters.values()),
            "searched_id": wanted,
            "more_query": urlencode({k: v for k, v in filters.items() if v}, doseq=True),
        }
        return Template("executions.html", context=context)

    @get("/{execution_id:str}")
    async def show_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
        trigger_queries: NamedDependency[TriggerQueries],
        audit_queries: NamedDependency[AuditQueries],
        node: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        return await execution_page(
            principal,
            execution_queries,
            workflow_queries,
            execution_id,
            node=node,
            trigger_queries=trigger_queries,
            audit_queries=audit_queries,
        )

    @get("/{execution_id:str}/nodes/{node_id:str}")
    async def show_node(
        self,
        execution_id: FromPath[str],
        node_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
    ) -> Template:
        """The node panel alone, for the page's script to put in place."""
        workspace = principal.workspace_id
        detail = await execution_queries.get(workspace, execution_id)
        execution = detail.execution
        found = await workflow_queries.get(workspace, execution.workflow_id, execution.version)
        events = await all_events(execution_queries, workspace, execution_id)
        # Only a node that starts executions lists them: the others need no query.
        starts_children = _kind_of(found.version.document, node_id) in CHILD_KINDS
        children = (
            await _children(execution_queries, workspace, execution.id) if starts_children else None
        )
        context = {
            "node": _node_context(
                detail.node_runs, events, node_id, found.version.document, children
            ),
            "execution": execution,
        }
        return Template("partials/node_panel.html", context=context)


async def _children(
    queries: ExecutionQueries, workspace_id: str, execution_id: str
) -> Page[Execution]:
    return await queries.page(
        workspace_id,
        ExecutionFilter(parent_execution_id=execution_id),
        limit=CHILDREN_SHOWN,
        cursor=None,
    )


async def execution_page(
    principal: Principal,
    execution_queries: ExecutionQueries,
    workflow_queries: WorkflowQueries,
    execution_id: str,
    *,
    node: str | None = None,
    status_code: int = 200,
    signal_form: dict[str, str] | None = None,
    audit_queries: AuditQueries,
    trigger_queries: TriggerQueries | None = None,
) -> Template:
    """The execution page; `signal_form` refills the signal form with what was sent and
    the error beside it."""
    workspace = principal.workspace_id
    detail = await execution_queries.get(workspace, execution_id)
    execution = detail.execution
    found = await workflow_queries.get(workspace, execution.workflow_id, execution.version)
    runs = {run.node_id: (run.status.value, run.attempt) for run in detail.node_runs}
    events = await all_events(execution_queries, workspace, execution_id)
    children = await _children(execution_queries, workspace, execution.id)
    webhooks: dict[str, Trigger] = {}
    if trigger_queries is not None and execution.parent is None:
        webhooks = await trigger_queries.started_by(workspace, {execution.workflow_id})
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
        "node": (
            _node_context(detail.node_runs, events, node, found.version.document, children)
            if node
            else None
        ),
        "origin": origin_of(execution, webhooks),
        "signal_form": signal_form or {},
        "children": children.items,
        "more_children": children.next_cursor is not None,
        # Who started, cancelled, retried, re-ran or signalled it.
        "changes": await audit_queries.of_execution(principal, execution_id),
    }
    return Template("execution.html", context=context, status_code=status_code)


CHILD_KINDS = frozenset({"sub_workflow", "for_each"})
"""Node kinds that start child executions: their panel links to them."""


def _node_context(
    runs: list[Any],
    events: list[StoredEvent],
    node_id: str,
    document: dict[str, Any],
    children: Page[Execution] | None,
) -> dict[str, Any]:
    run = next((r for r in runs if r.node_id == node_id), None)
    attempts = attempts_of(events, node_id)
    if run is None and not any(event.node_id == node_id for event in events):
        raise NotFound(f"no node {node_id} has run in this execution")
    kind = _kind_of(document, node_id)
    context: dict[str, Any] = {"id": node_id, "run": run, "attempts": attempts, "kind": kind}
    if kind in CHILD_KINDS and children is not None:
        mine = [c for c in children.items if c.parent and c.parent.node_id == node_id]
        context["children"] = mine
        # Only the first page of children was read: there may be more of this node's.
        context["more_children"] = children.next_cursor is not None
        waiting = getattr(run, "waiting_for", None) or {}
        if not mine and isinstance(waiting, dict) and waiting.get("child"):
            context["child_id"] = str(waiting["child"])
    return context


def _kind_of(document: dict[str, Any], node_id: str) -> str:
    for node in document.get("nodes") or []:
        if isinstance(node, dict) and node.get("id") == node_id:
            return str(node.get("kind", ""))
    return ""
