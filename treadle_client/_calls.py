"""The requests both clients send, described once: a `Call` says the method, path, query,
body and headers of a request and the type its answer decodes to; `Client` and
`AsyncClient` only send them. A `Listing` says how to read a paged listing page after
page, so both clients can offer its items one by one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from treadle_client._retry import REPEATABLE_METHODS
from treadle_client.errors import TreadleError, error_of
from treadle_client.models import (
    AuditEntry,
    AuditPage,
    BulkRuns,
    Delivery,
    Event,
    EventPage,
    Execution,
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

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0
# The server sends a keepalive every 15 s: a stream silent for this long has dropped.
STREAM_READ_TIMEOUT = 60.0
USER_AGENT = "treadle-client"

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the type of its answer (None: no body is read)."""

    method: str
    path: str
    answer: Any
    params: Mapping[str, Any] | None = None
    body: Any = msgspec.UNSET
    headers: Mapping[str, str] = field(default_factory=dict)
    keyed: bool = False
    """The body gives an idempotency key to everything the request creates."""

    @property
    def repeatable(self) -> bool:
        """Safe to send again when its answer was lost: a method that means the same done
        twice as once, or a POST whose idempotency keys make a repeat answer the first."""
        if self.method in REPEATABLE_METHODS:
            return True
        return self.method == "POST" and (self.keyed or "Idempotency-Key" in self.headers)

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        content = None if self.body is msgspec.UNSET else _encoder.encode(self.body)
        headers = dict(self.headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        return http.build_request(
            self.method, self.path, params=_query(self.params), content=content, headers=headers
        )

    def answer_of(self, response: httpx.Response) -> T:
        if response.is_error:
            raise error_of(response)
        if self.answer is None:
            return None  # type: ignore[return-value]
        try:
            value: T = msgspec.json.decode(response.content, type=self.answer)
        except msgspec.DecodeError as error:
            raise TreadleError(
                response.status_code, "unexpected_response", f"{self.path}: {error}"
            ) from error
        return value


@dataclass(frozen=True)
class Listing(Generic[P, Item]):
    """A paged listing, to read item by item: the call for its first page, the items of
    a page, and the call for the page after a page (None after the last one)."""

    first: Call[P]
    items_of: Callable[[P], list[Item]]
    next_call: Callable[[P], Call[P] | None]


def base_url(url: str) -> str:
    return url.rstrip("/") + API_PREFIX


WORKSPACE_HEADER = "X-Treadle-Workspace"
"""Names the workspace (by name or id) a person's JWT acts in, for people in several; an
API token's workspace is its own."""


def auth_headers(token: str | None, workspace: str | None = None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if workspace:
        headers[WORKSPACE_HEADER] = workspace
    return headers


def _id(value: str) -> str:
    return quote(value, safe="")


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = [str(item) for item in value]
        out[name] = value
    return out


def _fields(**values: Any) -> dict[str, Any]:
    """A body of the values given, leaving out the ones left as None."""
    return {name: value for name, value in values.items() if value is not None}


# Workflows


def create_workflow(
    name: str, definition: Mapping[str, Any] | None, description: str, source: str | None
) -> Call[WorkflowSaved]:
    body = {"name": name, "description": description}
    body |= _fields(definition=definition, source=source)
    return Call("POST", "/workflows", WorkflowSaved, body=body)


def validate_workflow(
    name: str, definition: Mapping[str, Any] | None, source: str | None
) -> Call[WorkflowCheck]:
    body = {"name": name, **_fields(definition=definition, source=source)}
    return Call("POST", "/workflows/validate", WorkflowCheck, body=body)


def get_workflow(workflow_id: str, version: int | None) -> Call[WorkflowDetail]:
    params = {"version": version}
    return Call("GET", f"/workflows/{_id(workflow_id)}", WorkflowDetail, params=params)


def list_workflows(
    name: str | None, include_archived: bool, limit: int, cursor: str | None
) -> Call[WorkflowPage]:
    params = {"name": name, "include_archived": include_archived, "limit": limit, "cursor": cursor}
    return Call("GET", "/workflows", WorkflowPage, params=params)


def all_workflows(
    name: str | None, include_archived: bool, page_size: int
) -> Listing[WorkflowPage, Workflow]:
    """Every workflow of `list_workflows`, following `next_cursor`."""

    def page(cursor: str | None) -> Call[WorkflowPage]:
        return list_workflows(name, include_archived, page_size, cursor)

    def following(current: WorkflowPage) -> Call[WorkflowPage] | None:
        return None if current.next_cursor is None else page(current.next_cursor)

    return Listing(page(None), _items_of_workflows, following)


def _items_of_workflows(page: WorkflowPage) -> list[Workflow]:
    return page.items


def update_workflow(
    workflow_id: str,
    definition: Mapping[str, Any] | None,
    description: str | None,
    source: str | None,
) -> Call[WorkflowSaved]:
    body = _fields(definition=definition, description=description, source=source)
    return Call("PUT", f"/workflows/{_id(workflow_id)}", WorkflowSaved, body=body)


def list_versions(workflow_id: str) -> Call[list[WorkflowVersion]]:
    return Call("GET", f"/workflows/{_id(workflow_id)}/versions", list[WorkflowVersion])


def archive_workflow(workflow_id: str) -> Call[Workflow]:
    return Call("POST", f"/workflows/{_id(workflow_id)}/archive", Workflow)


# Runs


def run(
    workflow_id: str,
    input: Any,
    idempotency_key: str | None,
    start_at: datetime | None,
    priority: int | None,
    version: int | None,
) -> Call[Run]:
    body = {"input": input, **_fields(start_at=start_at, priority=priority, version=version)}
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    path = f"/workflows/{_id(workflow_id)}/run"
    return Call("POST", path, Run, body=body, headers=headers, keyed=bool(idempotency_key))


def run_many(workflow_id: str, runs: Sequence[RunSpec | Mapping[str, Any]]) -> Call[BulkRuns]:
    specs = [msgspec.convert(one, RunSpec) if isinstance(one, Mapping) else one for one in runs]
    # Repeated, a bulk run whose every run has a key answers the executions made the first time.
    keyed = bool(specs) and all(spec.idempotency_key for spec in specs)
    path = f"/workflows/{_id(workflow_id)}/runs"
    return Call("POST", path, BulkRuns, body={"runs": specs}, keyed=keyed)


# Executions


def get_execution(execution_id: str) -> Call[ExecutionDetail]:
    return Call("GET", f"/executions/{_id(execution_id)}", ExecutionDetail)


def list_executions(
    workflow_id: str | None,
    status: str | Sequence[str] | None,
    parent_execution_id: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> Call[ExecutionPage]:
    statuses = [status] if isinstance(status, str) else list(status or [])
    params = {
        "workflow_id": workflow_id,
        "status": statuses or None,
        "parent_execution_id": parent_execution_id,
        "created_after": created_after,
        "created_before": created_before,
        "limit": limit,
        "cursor": cursor,
    }
    return Call("GET", "/executions", ExecutionPage, params=params)


def all_executions(
    workflow_id: str | None,
    status: str | Sequence[str] | None,
    parent_execution_id: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    page_size: int,
) -> Listing[ExecutionPage, Execution]:
    """Every execution of `list_executions`, following `next_cursor` with the same filter."""

    def page(cursor: str | None) -> Call[ExecutionPage]:
        return list_executions(
            workflow_id,
            status,
            parent_execution_id,
            created_after,
            created_before,
            page_size,
            cursor,
        )

    def following(current: ExecutionPage) -> Call[ExecutionPage] | None:
        return None if current.next_cursor is None else page(current.next_cursor)

    return Listing(page(None), _items_of_executions, following)


def _items_of_executions(page: ExecutionPage) -> list[Execution]:
    return page.items


def list_events(execution_id: str, after: int, limit: int) -> Call[EventPage]:
    params = {"after": after, "limit": limit}
    return Call("GET", f"/executions/{_id(execution_id)}/events", EventPage, params=params)


def all_events(execution_id: str, after: int, page_size: int) -> Listing[EventPage, Event]:
    """Every stored event of the execution after `after`, following `next_after`."""

    def following(current: EventPage) -> Call[EventPage] | None:
        if current.next_after is None:
            return None
        return list_events(execution_id, current.next_after, page_size)

    return Listing(list_events(execution_id, after, page_size), _items_of_events, following)


def _items_of_events(page: EventPage) -> list[Event]:
    return page.items


def list_signals(execution_id: str) -> Call[list[Signal]]:
    return Call("GET", f"/executions/{_id(execution_id)}/signals", list[Signal])


def signal(execution_id: str, name: str, payload: Any) -> Call[Signal]:
    path = f"/executions/{_id(execution_id)}/signals/{_id(name)}"
    return Call("POST", path, Signal, body=payload)


def control(execution_id: str, action: str) -> Call[Execution]:
    return Call("POST", f"/executions/{_id(execution_id)}/{action}", Execution)


# Schedules


def create_schedule(body: Mapping[str, Any]) -> Call[Schedule]:
    return Call("POST", "/schedules", Schedule, body=dict(body))


def list_schedules(workflow_id: str | None) -> Call[list[Schedule]]:
    return Call("GET", "/schedules", list[Schedule], params={"workflow_id": workflow_id})


def get_schedule(schedule_id: str) -> Call[Schedule]:
    return Call("GET", f"/schedules/{_id(schedule_id)}", Schedule)


def update_schedule(schedule_id: str, changes: Mapping[str, Any]) -> Call[Schedule]:
    return Call("PATCH", f"/schedules/{_id(schedule_id)}", Schedule, body=dict(changes))


def switch_schedule(schedule_id: str, enabled: bool) -> Call[Schedule]:
    action = "enable" if enabled else "disable"
    return Call("POST", f"/schedules/{_id(schedule_id)}/{action}", Schedule)


def delete_schedule(schedule_id: str) -> Call[None]:
    return Call("DELETE", f"/schedules/{_id(schedule_id)}", None)


# Triggers


def create_trigger(body: Mapping[str, Any]) -> Call[TriggerSaved]:
    return Call("POST", "/triggers", TriggerSaved, body=dict(body))


def list_triggers(workflow_id: str | None) -> Call[list[Trigger]]:
    return Call("GET", "/triggers", list[Trigger], params={"workflow_id": workflow_id})


def get_trigger(trigger_id: str) -> Call[Trigger]:
    return Call("GET", f"/triggers/{_id(trigger_id)}", Trigger)


def update_trigger(trigger_id: str, changes: Mapping[str, Any]) -> Call[TriggerSaved]:
    return Call("PATCH", f"/triggers/{_id(trigger_id)}", TriggerSaved, body=dict(changes))


def switch_trigger(trigger_id: str, enabled: bool) -> Call[Trigger]:
    action = "enable" if enabled else "disable"
    return Call("POST", f"/triggers/{_id(trigger_id)}/{action}", Trigger)


def delete_trigger(trigger_id: str) -> Call[None]:
    return Call("DELETE", f"/triggers/{_id(trigger_id)}", None)


def list_deliveries(trigger_id: str, limit: int) -> Call[list[Delivery]]:
    path = f"/triggers/{_id(trigger_id)}/deliveries"
    return Call("GET", path, list[Delivery], params={"limit": limit})


# Secrets, tokens, the workspace


def create_secret(name: str, value: str) -> Call[Secret]:
    return Call("POST", "/secrets", Secret, body={"name": name, "value": value})


def list_secrets() -> Call[list[Secret]]:
    return Call("GET", "/secrets", list[Secret])


def rotate_secret(name: str, value: str) -> Call[Secret]:
    return Call("PUT", f"/secrets/{_id(name)}", Secret, body={"value": value})


def delete_secret(name: str) -> Call[None]:
    return Call("DELETE", f"/secrets/{_id(name)}", None)


def create_token(name: str, role: str) -> Call[TokenCreated]:
    return Call("POST", "/tokens", TokenCreated, body={"name": name, "role": role})


def list_audit(
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    actor_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> Call[AuditPage]:
    params = {
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "actor_id": actor_id,
        "since": since,
        "until": until,
        "limit": limit,
        "cursor": cursor,
    }
    return Call("GET", "/audit", AuditPage, params=params)


def all_audit(
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    actor_id: str | None,
    since: datetime | None,
    until: datetime | None,
    page_size: int,
) -> Listing[AuditPage, AuditEntry]:
    """Every entry of `list_audit`, following `next_cursor` with the same filter."""

    def page(cursor: str | None) -> Call[AuditPage]:
        return list_audit(action, object_type, object_id, actor_id, since, until, page_size, cursor)

    def following(current: AuditPage) -> Call[AuditPage] | None:
        return None if current.next_cursor is None else page(current.next_cursor)

    return Listing(page(None), lambda current: current.items, following)


def list_tokens() -> Call[list[Token]]:
    return Call("GET", "/tokens", list[Token])


def revoke_token(token_id: str) -> Call[None]:
    return Call("DELETE", f"/tokens/{_id(token_id)}", None)


def workspace() -> Call[Workspace]:
    return Call("GET", "/workspace", Workspace)


def me() -> Call[Me]:
    return Call("GET", "/me", Me)


# Members


def list_members() -> Call[Members]:
    return Call("GET", "/members", Members)


def invite(email: str, role: str) -> Call[Invitation]:
    return Call("POST", "/members/invitations", Invitation, body={"email": email, "role": role})


def cancel_invitation(invitation_id: str) -> Call[None]:
    return Call("DELETE", f"/members/invitations/{_id(invitation_id)}", None)


def change_role(user_id: str, role: str) -> Call[Member]:
    return Call("PATCH", f"/members/{_id(user_id)}", Member, body={"role": role})


def remove_member(user_id: str) -> Call[None]:
    return Call("DELETE", f"/members/{_id(user_id)}", None)


def list_node_kinds() -> Call[list[NodeKind]]:
    return Call("GET", "/node-kinds", list[NodeKind])


DEFAULT_FINISHED_DAYS = 30
DEFAULT_FAILED_DAYS = 30
DEFAULT_AUDIT_DAYS = 365
"""The server's retention defaults (a policy left unset keeps these)."""


def get_retention() -> Call[Retention]:
    return Call("GET", "/retention", Retention)


def set_retention(
    keep_finished_days: int,
    keep_failed_days: int,
    keep_succeeded_hours: int | None,
    keep_audit_days: int,
) -> Call[Retention]:
    body = {
        "keep_finished_days": keep_finished_days,
        "keep_failed_days": keep_failed_days,
        "keep_succeeded_hours": keep_succeeded_hours,
        "keep_audit_days": keep_audit_days,
    }
    return Call("PUT", "/retention", Retention, body=body)
