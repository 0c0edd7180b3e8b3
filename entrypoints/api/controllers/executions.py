"""Executions: lists, one with its node runs, events, signals, cancel, retry and re-run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from application.access import Principal
from application.document_limits import MAX_INTEGER
from application.queries.executions import ExecutionFilter, ExecutionQueries
from application.use_cases.cancel_execution import CancelExecution, CancelExecutionHandler
from application.use_cases.deliver_signal import DeliverSignal, DeliverSignalHandler
from application.use_cases.rerun_execution import RerunExecution, RerunExecutionHandler
from application.use_cases.retry_execution import RetryExecution, RetryExecutionHandler
from domain.status import ExecutionStatus
from entrypoints.api.auth import EDITOR
from entrypoints.api.schemas.common import as_utc
from entrypoints.api.schemas.executions import (
    EventOut,
    EventPageOut,
    ExecutionDetailOut,
    ExecutionOut,
    ExecutionPage,
    SignalOut,
)

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
Statuses = Annotated[
    list[ExecutionStatus] | None, QueryParameter(description="repeat to match any of several")
]
Since = Annotated[datetime | None, QueryParameter(description="created after (ISO 8601)")]
Until = Annotated[datetime | None, QueryParameter(description="created before (ISO 8601)")]


async def _page(
    queries: ExecutionQueries,
    principal: Principal,
    where: ExecutionFilter,
    limit: int,
    cursor: str | None,
) -> ExecutionPage:
    page = await queries.page(principal.workspace_id, where, limit=limit, cursor=cursor)
    return ExecutionPage(
        items=[ExecutionOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )


class ExecutionController(Controller):
    path = "/"
    tags = ["executions"]

    @get("/executions")
    async def list_executions(
        self,
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        status: Statuses = None,
        workflow_id: Annotated[str | None, QueryParameter()] = None,
        parent_execution_id: Annotated[
            str | None,
            QueryParameter(description="only this execution's sub-workflows and items"),
        ] = None,
        created_after: Since = None,
        created_before: Until = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ExecutionPage:
        """The workspace's executions, newest first; the children of one execution
        (`parent_execution_id`) by node, then item index, then oldest first."""
        where = ExecutionFilter(
            workflow_id,
            tuple(status or ()),
            as_utc(created_after),
            as_utc(created_before),
            parent_execution_id,
        )
        return await _page(execution_queries, principal, where, limit, cursor)

    @get("/workflows/{workflow_id:str}/executions")
    async def list_workflow_executions(
        self,
        workflow_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        status: Statuses = None,
        created_after: Since = None,
        created_before: Until = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ExecutionPage:
        """One workflow's executions, newest first."""
        where = ExecutionFilter(
            workflow_id, tuple(status or ()), as_utc(created_after), as_utc(created_before)
        )
        return await _page(execution_queries, principal, where, limit, cursor)

    @get("/executions/{execution_id:str}")
    async def get_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
    ) -> ExecutionDetailOut:
        """The execution with every node run: status, attempts, input, output, error, times."""
        detail = await execution_queries.get(principal.workspace_id, execution_id)
        return ExecutionDetailOut.of_detail(detail)

    @get("/executions/{execution_id:str}/events")
    async def list_events(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        after: Annotated[
            int, QueryParameter(ge=0, le=MAX_INTEGER, description="events after this seq")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> EventPageOut:
        """The execution's history in sequence order."""
        page = await execution_queries.events(
            principal.workspace_id, execution_id, after=after, limit=limit
        )
        return EventPageOut(items=[EventOut.of(e) for e in page.events], next_after=page.next_after)

    @get("/executions/{execution_id:str}/signals")
    async def list_signals(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
    ) -> list[SignalOut]:
        signals = await execution_queries.signals(principal.workspace_id, execution_id)
        return [SignalOut.of(s) for s in signals]

    @post("/executions/{execution_id:str}/signals/{name:str}", guards=[EDITOR], status_code=202)
    async def send_signal(
        self,
        execution_id: FromPath[str],
        name: FromPath[str],
        principal: NamedDependency[Principal],
        deliver_signal: NamedDependency[DeliverSignalHandler],
        data: JSONBody[Any] = None,
    ) -> SignalOut:
        """Store a signal (any JSON body is its payload); a waiting node takes the oldest."""
        command = DeliverSignal(
            principal.workspace_id, execution_id, name, data, actor=principal.actor
        )
        return SignalOut.of(await deliver_signal(command))

    @post("/executions/{execution_id:str}/cancel", guards=[EDITOR], status_code=202)
    async def cancel_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        cancel_execution: NamedDependency[CancelExecutionHandler],
    ) -> ExecutionOut:
        """Cancel at once, or at the next boundary when a worker is running it."""
        execution = await cancel_execution(
            CancelExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return ExecutionOut.of(execution)

    @post("/executions/{execution_id:str}/retry", guards=[EDITOR], status_code=202)
    async def retry_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        retry_execution: NamedDependency[RetryExecutionHandler],
    ) -> ExecutionOut:
        """Run a failed or timed-out execution again from its failed nodes."""
        execution = await retry_execution(
            RetryExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return ExecutionOut.of(execution)

    @post("/executions/{execution_id:str}/rerun", guards=[EDITOR], status_code=201)
    async def rerun_execution(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        rerun_execution: NamedDependency[RerunExecutionHandler],
    ) -> ExecutionOut:
        """A new execution of the same workflow version with the same input."""
        execution = await rerun_execution(
            RerunExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return ExecutionOut.of(execution)
