"""`AsyncClient`: the API over asyncio HTTP; the same methods as `Client`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from treadle_client import _calls as calls
from treadle_client._retry import DEFAULT_RETRIES, Attempts, Retries
from treadle_client._stream import (
    DEFAULT_MAX_RECONNECTS,
    Followed,
    MessageReader,
    Watch,
    WorkspaceWatch,
)
from treadle_client.errors import TreadleError, connection_failed, error_of
from treadle_client.models import (
    AuditEntry,
    AuditPage,
    BulkRuns,
    ChangesMissed,
    Delivery,
    Event,
    EventPage,
    Execution,
    ExecutionChange,
    ExecutionDetail,
    ExecutionPage,
    Invitation,
    Me,
    Member,
    Members,
    NodeKind,
    Retention,
    Run,
    RunSpec,
    Schedule,
    Secret,
    Signal,
    Token,
    TokenCreated,
    Trigger,
    TriggerSaved,
    Workflow,
    WorkflowCheck,
    WorkflowDetail,
    WorkflowPage,
    WorkflowSaved,
    WorkflowVersion,
    Workspace,
)

T = TypeVar("T")
P = TypeVar("P")
Item = TypeVar("Item")


class AsyncClient:
    """Treadle's HTTP API for asyncio: `async with AsyncClient(url, token) as client:`.
    Every method raises `TreadleError` for an error answer. A request safe to repeat is
    retried on 429, 503 and connection errors as `retries` says (see `Retries`; None
    never retries). `token` is an API token or a person's JWT from a configured identity
    provider; `workspace` names the workspace such a person acts in when they belong to
    several."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = calls.DEFAULT_TIMEOUT,
        retries: Retries | None = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        workspace: str | None = None,
    ) -> None:
        self._retries = retries
        self._http = httpx.AsyncClient(
            base_url=calls.base_url(url),
            headers=calls.auth_headers(token, workspace),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: calls.Call[T]) -> T:
        attempts = Attempts(self._retries if call.repeatable else None)
        while True:
            try:
                return await self._send_once(call)
            except TreadleError as error:
                wait = attempts.wait_before_retrying(error)
                if wait is None:
                    raise
            await asyncio.sleep(wait)

    async def _send_once(self, call: calls.Call[T]) -> T:
        try:
            response = await self._http.send(call.request(self._http))
        except httpx.TransportError as error:
            raise connection_failed(error) from error
        return call.answer_of(response)

    async def _each(self, listing: calls.Listing[P, Item]) -> AsyncGenerator[Item, None]:
        """The listing's items, reading each page only once the previous one is used up."""
        call: calls.Call[P] | None = listing.first
        while call is not None:
            page = await self._send(call)
            for item in listing.items_of(page):
                yield item
            call = listing.next_call(page)

    # Workflows

    async def create_workflow(
        self,
        name: str,
        definition: Mapping[str, Any] | None = None,
        description: str = "",
        *,
        source: str | None = None,
    ) -> WorkflowSaved:
        """Create a workflow from `definition`, or from `source`: its JSON or YAML text,
        which the server keeps as written (give one of the two)."""
        return await self._send(calls.create_workflow(name, definition, description, source))

    async def validate_workflow(
        self,
        name: str,
        definition: Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
    ) -> WorkflowCheck:
        return await self._send(calls.validate_workflow(name, definition, source))

    async def get_workflow(self, workflow_id: str, version: int | None = None) -> WorkflowDetail:
        return await self._send(calls.get_workflow(workflow_id, version))

    async def list_workflows(
        self,
        name: str | None = None,
        *,
        include_archived: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> WorkflowPage:
        return await self._send(calls.list_workflows(name, include_archived, limit, cursor))

    def iter_workflows(
        self, name: str | None = None, *, include_archived: bool = False, page_size: int = 50
    ) -> AsyncGenerator[Workflow, None]:
        """Every workflow `list_workflows` would list, page after page as they are used:
        `async for workflow in client.iter_workflows():`."""
        return self._each(calls.all_workflows(name, include_archived, page_size))

    async def update_workflow(
        self,
        workflow_id: str,
        definition: Mapping[str, Any] | None = None,
        description: str | None = None,
        *,
        source: str | None = None,
    ) -> WorkflowSaved:
        """Save the next version from `definition` or `source` (give one); when both the
        definition and its source equal the latest version's, none is made and the answer
        has `unchanged` set."""
        call = calls.update_workflow(workflow_id, definition, description, source)
        return await self._send(call)

    async def list_versions(self, workflow_id: str) -> list[WorkflowVersion]:
        return await self._send(calls.list_versions(workflow_id))

    async def archive_workflow(self, workflow_id: str) -> Workflow:
        return await self._send(calls.archive_workflow(workflow_id))

    # Runs

    async def run(
        self,
        workflow_id: str,
        input: Any = None,
        *,
        idempotency_key: str | None = None,
        start_at: datetime | None = None,
        priority: int | None = None,
        version: int | None = None,
    ) -> Run:
        """Start an execution; a worker runs it. The same `idempotency_key` answers the
        execution the first request made (`created` False)."""
        call = calls.run(workflow_id, input, idempotency_key, start_at, priority, version)
        return await self._send(call)

    async def run_many(
        self, workflow_id: str, runs: Sequence[RunSpec | Mapping[str, Any]]
    ) -> BulkRuns:
        """Start up to 1,000 executions in one transaction, all or none, answered in order."""
        return await self._send(calls.run_many(workflow_id, runs))

    # Executions

    async def get_execution(self, execution_id: str) -> ExecutionDetail:
        return await self._send(calls.get_execution(execution_id))

    async def list_executions(
        self,
        *,
        workflow_id: str | None = None,
        status: str | Sequence[str] | None = None,
        parent_execution_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ExecutionPage:
        call = calls.list_executions(
            workflow_id, status, parent_execution_id, created_after, created_before, limit, cursor
        )
        return await self._send(call)

    def iter_executions(
        self,
        *,
        workflow_id: str | None = None,
        status: str | Sequence[str] | None = None,
        parent_execution_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 50,
    ) -> AsyncGenerator[Execution, None]:
        """Every execution `list_executions` would list with these filters, page after
        page as they are used."""
        listing = calls.all_executions(
            workflow_id, status, parent_execution_id, created_after, created_before, page_size
        )
        return self._each(listing)

    async def list_events(
        self, execution_id: str, *, after: int = 0, limit: int = 100
    ) -> EventPage:
        return await self._send(calls.list_events(execution_id, after, limit))

    def iter_events(
        self, execution_id: str, *, after: int = 0, page_size: int = 100
    ) -> AsyncGenerator[Event, None]:
        """The execution's stored events after `after`, in order, page after page as they
        are used; unlike `watch`, it stops at the last event stored now."""
        return self._each(calls.all_events(execution_id, after, page_size))

    async def list_signals(self, execution_id: str) -> list[Signal]:
        return await self._send(calls.list_signals(execution_id))

    async def signal(self, execution_id: str, name: str, payload: Any = None) -> Signal:
        return await self._send(calls.signal(execution_id, name, payload))

    async def cancel(self, execution_id: str) -> Execution:
        return await self._send(calls.control(execution_id, "cancel"))

    async def retry(self, execution_id: str) -> Execution:
        return await self._send(calls.control(execution_id, "retry"))

    async def rerun(self, execution_id: str) -> Execution:
        """A new execution of the same workflow version with the same input."""
        return await self._send(calls.control(execution_id, "rerun"))

    def watch(
        self,
        execution_id: str,
        *,
        after: int = 0,
        reconnect_delay: float | None = None,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
    ) -> AsyncGenerator[Event, None]:
        """The execution's events, stored ones first, then live ones as they happen; ends
        when the execution has ended. A dropped connection is resumed after the last
        event seen (`Last-Event-ID`), so no event is missed or repeated."""
        return self._follow(Watch(execution_id, after, reconnect_delay, max_reconnects))

    def watch_workspace(
        self,
        *,
        last_event_id: str | None = None,
        reconnect_delay: float | None = None,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
    ) -> AsyncGenerator[ExecutionChange | ChangesMissed, None]:
        """Every change of the workspace's executions as it commits, without end (stop
        iterating, and `aclose()` it, to stop). A dropped connection is resumed after the
        last change seen; `ChangesMissed` says the server could not replay what happened
        meanwhile."""
        return self._follow(WorkspaceWatch(last_event_id, reconnect_delay, max_reconnects))

    async def _follow(self, watch: Followed[T]) -> AsyncGenerator[T, None]:
        """The stream's items across reconnections, until it ends or reconnecting fails."""
        while not watch.ended:
            error: TreadleError | None = None
            try:
                # Closed here, not whenever collected, so a watch stopped early lets go
                # of its connection at once.
                async with aclosing(self._stream(watch)) as items:
                    async for item in items:
                        yield item
            except httpx.TransportError as dropped:
                error = connection_failed(dropped)
            except TreadleError as refused:
                error = refused
            if not watch.ended:
                await asyncio.sleep(watch.dropped(error))

    async def _stream(self, watch: Followed[T]) -> AsyncGenerator[T, None]:
        timeout = httpx.Timeout(self._http.timeout.connect, read=calls.STREAM_READ_TIMEOUT)
        request = self._http.build_request(
            "GET", watch.path, headers=watch.headers(), timeout=timeout
        )
        response = await self._http.send(request, stream=True)
        try:
            if response.is_error:
                await response.aread()
                raise error_of(response)
            reader = MessageReader()
            async for line in response.aiter_lines():
                message = reader.feed(line)
                item = None if message is None else watch.read(message)
                if item is not None:
                    yield item
                if watch.ended:
                    return
        finally:
            await response.aclose()

    # Schedules

    async def create_schedule(
        self,
        workflow_id: str,
        cron: str,
        *,
        timezone: str = "UTC",
        input: Any = None,
        enabled: bool = True,
        overlap: str = "allow",
        catch_up: bool = False,
    ) -> Schedule:
        body = {
            "workflow_id": workflow_id,
            "cron": cron,
            "timezone": timezone,
            "input": input,
            "enabled": enabled,
            "overlap": overlap,
            "catch_up": catch_up,
        }
        return await self._send(calls.create_schedule(body))

    async def list_schedules(self, workflow_id: str | None = None) -> list[Schedule]:
        return await self._send(calls.list_schedules(workflow_id))

    async def get_schedule(self, schedule_id: str) -> Schedule:
        return await self._send(calls.get_schedule(schedule_id))

    async def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        """Change only the fields named: cron, timezone, input, enabled, overlap, catch_up."""
        return await self._send(calls.update_schedule(schedule_id, changes))

    async def enable_schedule(self, schedule_id: str) -> Schedule:
        return await self._send(calls.switch_schedule(schedule_id, True))

    async def disable_schedule(self, schedule_id: str) -> Schedule:
        return await self._send(calls.switch_schedule(schedule_id, False))

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._send(calls.delete_schedule(schedule_id))

    # Triggers

    async def create_trigger(self, workflow_id: str, **settings: Any) -> TriggerSaved:
        """A webhook trigger; `settings` are the create body's other fields (see the API
        guide). A secret the server made is in the answer this once."""
        return await self._send(calls.create_trigger({"workflow_id": workflow_id, **settings}))

    async def list_triggers(self, workflow_id: str | None = None) -> list[Trigger]:
        return await self._send(calls.list_triggers(workflow_id))

    async def get_trigger(self, trigger_id: str) -> Trigger:
        return await self._send(calls.get_trigger(trigger_id))

    async def update_trigger(self, trigger_id: str, **changes: Any) -> TriggerSaved:
        return await self._send(calls.update_trigger(trigger_id, changes))

    async def enable_trigger(self, trigger_id: str) -> Trigger:
        return await self._send(calls.switch_trigger(trigger_id, True))

    async def disable_trigger(self, trigger_id: str) -> Trigger:
        return await self._send(calls.switch_trigger(trigger_id, False))

    async def delete_trigger(self, trigger_id: str) -> None:
        await self._send(calls.delete_trigger(trigger_id))

    async def list_deliveries(self, trigger_id: str, *, limit: int = 20) -> list[Delivery]:
        return await self._send(calls.list_deliveries(trigger_id, limit))

    # Secrets, tokens, the workspace (admin)

    async def create_secret(self, name: str, value: str) -> Secret:
        return await self._send(calls.create_secret(name, value))

    async def list_secrets(self) -> list[Secret]:
        return await self._send(calls.list_secrets())

    async def rotate_secret(self, name: str, value: str) -> Secret:
        return await self._send(calls.rotate_secret(name, value))

    async def delete_secret(self, name: str) -> None:
        await self._send(calls.delete_secret(name))

    async def create_token(self, name: str, role: str) -> TokenCreated:
        """A token of this workspace; `token` is shown this once."""
        return await self._send(calls.create_token(name, role))

    async def list_audit(
        self,
        *,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AuditPage:
        """Who changed what in the workspace, newest first (admins only): each filter
        given must match; `since` is inclusive, `until` exclusive."""
        call = calls.list_audit(
            action, object_type, object_id, actor_id, since, until, limit, cursor
        )
        return await self._send(call)

    def iter_audit(
        self,
        *,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 50,
    ) -> AsyncGenerator[AuditEntry, None]:
        """Every entry `list_audit` would list with these filters, page after page as
        they are used."""
        listing = calls.all_audit(action, object_type, object_id, actor_id, since, until, page_size)
        return self._each(listing)

    async def list_tokens(self) -> list[Token]:
        return await self._send(calls.list_tokens())

    async def revoke_token(self, token_id: str) -> None:
        await self._send(calls.revoke_token(token_id))

    async def workspace(self) -> Workspace:
        """The token's workspace and role."""
        return await self._send(calls.workspace())

    async def me(self) -> Me:
        """Who is calling (a token or a person), in which workspace and with which role, and
        every workspace they may act in."""
        return await self._send(calls.me())

    # Members: everyone lists them; only admins change them (and see invitations)

    async def list_members(self) -> Members:
        return await self._send(calls.list_members())

    async def invite(self, email: str, role: str) -> Invitation:
        """Invite an email with a role: they join when they first sign in with it. Inviting
        an email again replaces its invitation."""
        return await self._send(calls.invite(email, role))

    async def cancel_invitation(self, invitation_id: str) -> None:
        await self._send(calls.cancel_invitation(invitation_id))

    async def change_role(self, user_id: str, role: str) -> Member:
        """Give a member another role; refused (`last_admin`) for the workspace's last admin."""
        return await self._send(calls.change_role(user_id, role))

    async def remove_member(self, user_id: str) -> None:
        """Remove a member; refused (`last_admin`) for the workspace's last admin."""
        await self._send(calls.remove_member(user_id))

    async def list_node_kinds(self) -> list[NodeKind]:
        """Every node kind: built-in ones, then those installed packages add."""
        return await self._send(calls.list_node_kinds())

    async def get_retention(self) -> Retention:
        """How long the workspace keeps finished executions and audit entries."""
        return await self._send(calls.get_retention())

    async def set_retention(
        self,
        *,
        keep_finished_days: int = calls.DEFAULT_FINISHED_DAYS,
        keep_failed_days: int = calls.DEFAULT_FAILED_DAYS,
        keep_succeeded_hours: int | None = None,
        keep_audit_days: int = calls.DEFAULT_AUDIT_DAYS,
    ) -> Retention:
        """Replace the workspace's retention policy (admin); a value left out takes its
        default. InvalidInput names every value out of bounds."""
        call = calls.set_retention(
            keep_finished_days, keep_failed_days, keep_succeeded_hours, keep_audit_days
        )
        return await self._send(call)
