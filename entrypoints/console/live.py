"""Live updates for console pages, as server-sent events authenticated by the cookie.

The console does not hand its token to the API's `?token=` streams: a token in a URL
ends up in history and access logs, and the cookie is HttpOnly so the page's script
never sees it. These streams run in the same process over the same `EventHub`, so they
cost no more than the API's.

An execution stream sends `step` (a timeline row) for every event after `after`, then a
`state` (the execution's and every node's status) after each batch, and `end` once the
execution has finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.access import Principal
from application.document_limits import MAX_INTEGER
from application.queries.executions import ExecutionDetail, ExecutionQueries
from entrypoints.api.controllers.streams import (
    KEEPALIVE_SECONDS,
    event_hub,
    json_message,
    keepalive,
    resume_after,
    stream_open,
    workspace_changes,
)
from entrypoints.api.live import EventHub
from entrypoints.console.presentation import pretty_json, timeline_item

LastEventId = Annotated[str | None, HeaderParameter(name="Last-Event-ID", required=False)]


def state_of(detail: ExecutionDetail) -> dict[str, Any]:
    """The execution's status and every node's, for the page to repaint the graph."""
    execution = detail.execution
    return {
        "status": execution.status.value,
        "terminal": execution.status.is_terminal,
        "seq": execution.seq,
        "nodes": {
            run.node_id: {"status": run.status.value, "attempt": run.attempt}
            for run in detail.node_runs
        },
    }


def end_of(detail: ExecutionDetail) -> dict[str, Any]:
    output = detail.execution.output
    return {
        "status": detail.execution.status.value,
        "output": pretty_json(output) if output is not None else None,
    }


async def execution_updates(
    hub: EventHub, queries: ExecutionQueries, principal: Principal, execution_id: str, after: int
) -> AsyncIterator[ServerSentEventMessage]:
    workspace = principal.workspace_id
    with hub.subscribe(workspace, execution_id) as subscription:
        yield stream_open()
        changed = True  # send the state once at the start: the page may be stale
        while not hub.closed and not subscription.overflowed:
            page = await queries.events(workspace, execution_id, after=after, limit=200)
            for event in page.events:
                yield json_message(timeline_item(event), "step", event.seq)
                after, changed = event.seq, True
            if page.next_after is not None:
                continue
            if changed:
                detail = await queries.get(workspace, execution_id)
                yield json_message(state_of(detail), "state", after)
                if detail.execution.status.is_terminal and detail.execution.seq <= after:
                    yield json_message(end_of(detail), "end", after)
                    return
                changed = False
            if await subscription.next(KEEPALIVE_SECONDS) is None and not hub.closed:
                yield keepalive()


class LiveStreams(Controller):
    path = "/console"
    include_in_schema = False

    @get("/executions/{execution_id:str}/live")
    async def execution_live(
        self,
        request: Request[Any, Any, Any],
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        after: Annotated[int, QueryParameter(ge=0, le=MAX_INTEGER)] = 0,
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        await execution_queries.status(principal.workspace_id, execution_id)  # 404 first
        start = resume_after(last_event_id, default=after)
        hub = event_hub(request)
        updates = execution_updates(hub, execution_queries, principal, execution_id, start)
        return ServerSentEvent(updates)

    @get("/live")
    async def workspace_live(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """Status changes of the workspace's executions (as the API's /stream sends them)."""
        return ServerSentEvent(workspace_changes(event_hub(request), principal, last_event_id))
