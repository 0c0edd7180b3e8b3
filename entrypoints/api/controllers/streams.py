"""Server-sent event streams: one execution's events, and a workspace's status changes.

Both accept the token as `?token=` as well as the Authorization header, because the
browser's EventSource cannot set headers. The console's cookie-authenticated streams
reuse the framing helpers here, so both send the same kind of messages.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.access import Principal
from application.queries.executions import ExecutionQueries
from entrypoints.api.live import EventHub, Notice
from entrypoints.api.schemas.executions import EventOut

KEEPALIVE_SECONDS = 15.0
# Comments carry data=None: an empty `data:` line would make browsers dispatch a message.
RECONNECT_MS = 2000

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        required=False,
        max_length=100,
        description="resume after this event id (the browser sends it when it reconnects)",
    ),
]
QueryToken = Annotated[
    str | None,
    QueryParameter(
        name="token",
        required=False,
        description="the bearer token, for clients such as EventSource that cannot set headers",
    ),
]


def resume_after(last_event_id: str | None, default: int = 0) -> int:
    """The seq to resume after: the Last-Event-ID the browser sent back, if it is one."""
    text = (last_event_id or "").strip()
    # isdigit() also holds for digits a bigint cannot hold: those are no event id either.
    return int(text) if text.isdigit() and len(text) < 19 else default


def stream_open() -> ServerSentEventMessage:
    """The first message of every stream: tells the browser how soon to reconnect."""
    return ServerSentEventMessage(comment="stream open", retry=RECONNECT_MS, data=None)


def keepalive() -> ServerSentEventMessage:
    return ServerSentEventMessage(comment="keepalive", data=None)


def json_message(
    data: Any, event: str | None = None, id: int | str | None = None
) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(data), event=event, id=id)


def event_hub(request: Request[Any, Any, Any]) -> EventHub:
    hub: EventHub = request.app.state["hub"]
    return hub


async def execution_events(
    hub: EventHub,
    queries: ExecutionQueries,
    principal: Principal,
    execution_id: str,
    after: int,
) -> AsyncIterator[ServerSentEventMessage]:
    """Stored events after `after`, then new ones as they commit; ends with `end` once the
    execution has finished and every event was sent."""
    workspace = principal.workspace_id
    with hub.subscribe(workspace, execution_id) as subscription:
        yield stream_open()
        while not hub.closed and not subscription.overflowed:
            page = await queries.events(workspace, execution_id, after=after, limit=200)
            for event in page.events:
                yield ServerSentEventMessage(data=EventOut.of(event).to_json(), id=event.seq)
                after = event.seq
            if page.next_after is not None:
                continue
            execution = await queries.status(workspace, execution_id)
            if execution.status.is_terminal and execution.seq <= after:
                end = {"status": execution.status.value, "seq": execution.seq}
                yield json_message(end, "end", after)
                return
            if await subscription.next(KEEPALIVE_SECONDS) is None and not hub.closed:
                yield keepalive()


def _status_message(hub: EventHub, notice: Notice) -> ServerSentEventMessage:
    payload = {key: notice.payload.get(key) for key in ("execution_id", "status", "seq", "type")}
    return json_message(payload, id=hub.event_id(notice))


async def workspace_changes(
    hub: EventHub, principal: Principal, last_event_id: str | None
) -> AsyncIterator[ServerSentEventMessage]:
    """Status changes of the workspace's executions as they commit."""
    with hub.subscribe(principal.workspace_id) as subscription:
        yield stream_open()
        sent = 0
        if last_event_id:
            missed = hub.missed_since(principal.workspace_id, last_event_id)
            if missed is None:
                # We cannot say what was missed: the client should reload what it shows.
                yield ServerSentEventMessage(data="{}", event="reset")
            for missed_notice in missed or []:
                yield _status_message(hub, missed_notice)
                sent = missed_notice.number
        while not hub.closed and not subscription.overflowed:
            notice = await subscription.next(KEEPALIVE_SECONDS)
            if notice is None:
                if not hub.closed:
                    yield keepalive()
            elif notice.number > sent:
                yield _status_message(hub, notice)
                sent = notice.number


class StreamController(Controller):
    path = "/"
    tags = ["live"]

    @get("/executions/{execution_id:str}/stream")
    async def stream_execution(
        self,
        request: Request[Principal, str, Any],
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        execution_queries: NamedDependency[ExecutionQueries],
        last_event_id: LastEventId = None,
        token: QueryToken = None,
    ) -> ServerSentEvent:
        """Server-sent events: each `data` is an event (as in /events) with `id` = seq; an
        `end` event follows the last one once the execution has finished."""
        await execution_queries.status(principal.workspace_id, execution_id)  # 404 first
        after = resume_after(last_event_id)
        hub = event_hub(request)
        events = execution_events(hub, execution_queries, principal, execution_id, after)
        return ServerSentEvent(events)

    @get("/stream")
    async def stream_workspace(
        self,
        request: Request[Principal, str, Any],
        principal: NamedDependency[Principal],
        last_event_id: LastEventId = None,
        token: QueryToken = None,
    ) -> ServerSentEvent:
        """Server-sent events: `data` is {execution_id, status, seq, type} for every change
        of an execution in the workspace; `reset` means "reload, some changes were missed"."""
        return ServerSentEvent(workspace_changes(event_hub(request), principal, last_event_id))
