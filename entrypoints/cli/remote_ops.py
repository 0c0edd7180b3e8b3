"""The management commands over a Treadle server's HTTP API, with the Python client.

The token decides the workspace: `--workspace` has no say here. An error the API answers
is printed as its message and code, and the command exits 1.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeVar

from rich.live import Live

from application.document_limits import MAX_RUNS
from domain.problems import Problem
from domain.retention import RetentionPolicy
from entrypoints.cli.audit_views import AuditQuery, AuditRow
from entrypoints.cli.common import console, fail
from entrypoints.cli.member_views import InvitationRow, MemberRow, WhoAmI
from entrypoints.cli.operations import Remote
from entrypoints.cli.views import (
    Applied,
    Checked,
    DeliveryRow,
    EventRow,
    ExecutionRow,
    ExecutionView,
    KindRow,
    NewToken,
    NodeRow,
    RunRequest,
    ScheduleRow,
    SecretRow,
    StartedRuns,
    TokenRow,
    TriggerRow,
    WorkflowRow,
    node_detail,
)
from entrypoints.cli.watch import render
from treadle_client import (
    AuditEntry,
    Client,
    Conflict,
    Delivery,
    Event,
    Execution,
    ExecutionDetail,
    Invitation,
    Me,
    Member,
    NotFound,
    Retention,
    RunSpec,
    Schedule,
    Token,
    TreadleError,
    Trigger,
    TriggerSaved,
    Workflow,
)

T = TypeVar("T")

BODY_TOO_LARGE = "body_too_large"
"""The API's code for a request body over its TREADLE_MAX_BODY_BYTES."""

REDRAW_SECONDS = 0.2
"""At most one re-read of the execution per this while events stream in."""


class ApiOperations:
    """`Operations` (and the secrets, schedules and triggers commands) over the HTTP API."""

    def __init__(self, remote: Remote) -> None:
        self._remote = remote

    def _call(self, action: Callable[[Client], T]) -> T:
        try:
            remote = self._remote
            with Client(remote.url, remote.token, workspace=remote.workspace) as client:
                return action(client)
        except TreadleError as error:
            problems = [f"\n  {_detail_line(detail)}" for detail in error.details]
            fail(f"{error.message} ({error.code})" + "".join(problems))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    # Workflows

    def check_workflow(self, workspace: str, name: str, document: dict[str, Any]) -> Checked:
        def check(client: Client) -> Checked:
            found = client.validate_workflow(name, document)
            return Checked(
                [Problem(p.code, p.path, p.message) for p in found.problems],
                [Problem(p.code, p.path, p.message) for p in found.warnings],
            )

        return self._call(check)

    def apply_workflow(
        self, workspace: str, name: str, description: str | None, source: str
    ) -> Applied:
        def store(client: Client) -> Applied:
            existing = _by_name(client, name)
            if existing is None:
                saved = client.create_workflow(name, description=description or "", source=source)
                return Applied(saved.name, saved.id, saved.latest_version, True)
            saved = client.update_workflow(existing.id, description=description, source=source)
            return Applied(saved.name, saved.id, saved.latest_version, False, saved.unchanged)

        return self._call(store)

    def list_node_kinds(self) -> list[KindRow]:
        def load(client: Client) -> list[KindRow]:
            return [
                KindRow(k.kind, k.title, k.builtin, k.package, k.last_seen_at)
                for k in client.list_node_kinds()
            ]

        return self._call(load)

    def list_workflows(self, workspace: str, limit: int) -> list[WorkflowRow]:
        def load(client: Client) -> list[WorkflowRow]:
            found = islice(client.iter_workflows(page_size=min(limit, 100)), limit)
            return [
                WorkflowRow(w.name, w.id, w.latest_version, w.updated_at, w.description)
                for w in found
            ]

        return self._call(load)

    # Runs and executions

    def run(
        self,
        workspace: str,
        workflow: str,
        payload: Any,
        idempotency_key: str | None,
        watch: bool,
        started: Callable[[str], None],
    ) -> ExecutionRow:
        def start(client: Client) -> ExecutionRow:
            found = _workflow(client, workflow)
            run = client.run(found.id, payload, idempotency_key=idempotency_key)
            started(run.execution_id)
            if not watch:
                return _row(client.get_execution(run.execution_id))
            return _row(_watch_live(client, run.execution_id))

        return self._call(start)

    def run_many(
        self,
        workspace: str,
        workflow: str,
        runs: list[RunRequest],
        started: Callable[[StartedRuns], None],
    ) -> None:
        def start(client: Client) -> None:
            workflow_id = _workflow(client, workflow).id
            for offset in range(0, len(runs), MAX_RUNS):
                specs = [
                    RunSpec(input=run.input, idempotency_key=run.idempotency_key)
                    for run in runs[offset : offset + MAX_RUNS]
                ]
                _send_runs(client, workflow_id, specs, started)

        self._call(start)

    def watch(self, workspace: str, execution_id: str) -> ExecutionRow:
        return self._call(lambda client: _row(_watch_live(client, execution_id)))

    def list_executions(
        self, workspace: str, workflow: str | None, statuses: list[str], limit: int
    ) -> list[ExecutionRow]:
        def load(client: Client) -> list[ExecutionRow]:
            workflow_id = _workflow(client, workflow).id if workflow else None
            found = client.iter_executions(
                workflow_id=workflow_id, status=statuses or None, page_size=min(limit, 100)
            )
            return [_row(execution) for execution in islice(found, limit)]

        return self._call(load)

    def show_execution(
        self, workspace: str, execution_id: str, events: bool
    ) -> tuple[ExecutionView, list[EventRow]]:
        def load(client: Client) -> tuple[ExecutionView, list[EventRow]]:
            detail = client.get_execution(execution_id)
            view = _view(detail, _kinds(client, detail))
            if not events:
                return view, []
            return view, [_event(event) for event in client.iter_events(execution_id)]

        return self._call(load)

    def cancel(self, workspace: str, execution_id: str) -> ExecutionRow:
        return self._call(lambda client: _row(client.cancel(execution_id)))

    def retry(self, workspace: str, execution_id: str) -> ExecutionRow:
        return self._call(lambda client: _row(client.retry(execution_id)))

    def rerun(self, workspace: str, execution_id: str) -> ExecutionRow:
        return self._call(lambda client: _row(client.rerun(execution_id)))

    def signal(self, workspace: str, execution_id: str, name: str, payload: Any) -> str:
        return self._call(lambda client: client.signal(execution_id, name, payload).id)

    # Tokens and the workspace

    def workspace_name(self) -> str:
        return self._call(lambda client: client.workspace().name)

    def create_token(self, workspace: str, name: str, role: str) -> NewToken:
        def create(client: Client) -> NewToken:
            created = client.create_token(name, role)
            return NewToken(_token(created), client.workspace().name, created.token)

        return self._call(create)

    def list_tokens(self, workspace: str) -> list[TokenRow]:
        return self._call(lambda client: [_token(token) for token in client.list_tokens()])

    def revoke_token(self, workspace: str, token_id: str) -> str:
        self._call(lambda client: client.revoke_token(token_id))
        return token_id

    def whoami(self) -> WhoAmI:
        return self._call(lambda client: _whoami(client.me()))

    # Members

    def list_members(self, workspace: str) -> list[MemberRow]:
        return self._call(lambda client: [_member(m) for m in client.list_members().members])

    def list_invitations(self, workspace: str) -> list[InvitationRow]:
        def load(client: Client) -> list[InvitationRow]:
            # The listing leaves invitations out for other roles: say so rather than
            # print an empty list that looks like there are none.
            role = client.me().role
            if role != "admin":
                fail(f"only admins see invitations; the token's role is {role} (forbidden)")
            return [_invitation(i) for i in client.list_members().invitations]

        return self._call(load)

    def invite(self, workspace: str, email: str, role: str) -> InvitationRow:
        return self._call(lambda client: _invitation(client.invite(email, role)))

    def cancel_invitation(self, workspace: str, invitation_id: str) -> None:
        self._call(lambda client: client.cancel_invitation(invitation_id))

    def change_role(self, workspace: str, user_id: str, role: str) -> MemberRow:
        return self._call(lambda client: _member(client.change_role(user_id, role)))

    def remove_member(self, workspace: str, user_id: str) -> None:
        self._call(lambda client: client.remove_member(user_id))

    def list_audit(self, workspace: str, query: AuditQuery) -> list[AuditRow]:
        def load(client: Client) -> list[AuditRow]:
            page = client.list_audit(
                action=query.action,
                object_id=query.object_id,
                since=query.since,
                limit=query.limit,
            )
            return [_audit_row(entry) for entry in page.items]

        return self._call(load)

    # Retention

    def get_retention(self, workspace: str) -> RetentionPolicy:
        return self._call(lambda client: _policy(client.get_retention()))

    def set_retention(self, workspace: str, policy: RetentionPolicy) -> RetentionPolicy:
        def store(client: Client) -> RetentionPolicy:
            saved = client.set_retention(
                keep_finished_days=policy.keep_finished_days,
                keep_failed_days=policy.keep_failed_days,
                keep_succeeded_hours=policy.keep_succeeded_hours,
                keep_audit_days=policy.keep_audit_days,
            )
            return _policy(saved)

        return self._call(store)

    # Secrets

    def list_secrets(self) -> list[SecretRow]:
        def load(client: Client) -> list[SecretRow]:
            return [SecretRow(s.name, s.created_at, s.updated_at) for s in client.list_secrets()]

        return self._call(load)

    def set_secret(self, name: str, value: str) -> bool:
        def store(client: Client) -> bool:
            try:
                client.create_secret(name, value)
            except Conflict:
                client.rotate_secret(name, value)
                return False
            return True

        return self._call(store)

    def delete_secret(self, name: str) -> None:
        self._call(lambda client: client.delete_secret(name))

    # Schedules

    def list_schedules(self, workflow: str | None) -> list[ScheduleRow]:
        def load(client: Client) -> list[ScheduleRow]:
            workflow_id = _workflow(client, workflow).id if workflow else None
            return [_schedule(s) for s in client.list_schedules(workflow_id)]

        return self._call(load)

    def create_schedule(
        self, workflow: str, cron: str, timezone: str, payload: Any, enabled: bool
    ) -> ScheduleRow:
        def create(client: Client) -> ScheduleRow:
            workflow_id = _workflow(client, workflow).id
            return _schedule(
                client.create_schedule(
                    workflow_id, cron, timezone=timezone, input=payload, enabled=enabled
                )
            )

        return self._call(create)

    def switch_schedule(self, schedule_id: str, enabled: bool) -> ScheduleRow:
        def switch(client: Client) -> ScheduleRow:
            if enabled:
                return _schedule(client.enable_schedule(schedule_id))
            return _schedule(client.disable_schedule(schedule_id))

        return self._call(switch)

    def delete_schedule(self, schedule_id: str) -> None:
        self._call(lambda client: client.delete_schedule(schedule_id))

    # Webhook triggers

    def list_triggers(self, workflow: str | None) -> list[TriggerRow]:
        def load(client: Client) -> list[TriggerRow]:
            workflow_id = _workflow(client, workflow).id if workflow else None
            return [_trigger(t) for t in client.list_triggers(workflow_id)]

        return self._call(load)

    def get_trigger(self, trigger_id: str) -> TriggerRow:
        return self._call(lambda client: _trigger(client.get_trigger(trigger_id)))

    def create_trigger(self, workflow: str, settings: dict[str, Any]) -> TriggerRow:
        def create(client: Client) -> TriggerRow:
            workflow_id = _workflow(client, workflow).id
            return _trigger(client.create_trigger(workflow_id, **settings))

        return self._call(create)

    def update_trigger(self, trigger_id: str, changes: dict[str, Any]) -> TriggerRow:
        return self._call(lambda client: _trigger(client.update_trigger(trigger_id, **changes)))

    def switch_trigger(self, trigger_id: str, enabled: bool) -> TriggerRow:
        def switch(client: Client) -> TriggerRow:
            if enabled:
                return _trigger(client.enable_trigger(trigger_id))
            return _trigger(client.disable_trigger(trigger_id))

        return self._call(switch)

    def delete_trigger(self, trigger_id: str) -> None:
        self._call(lambda client: client.delete_trigger(trigger_id))

    def list_deliveries(self, trigger_id: str, limit: int) -> list[DeliveryRow]:
        return self._call(
            lambda client: [_delivery(d) for d in client.list_deliveries(trigger_id, limit=limit)]
        )


def _send_runs(
    client: Client, workflow_id: str, specs: list[RunSpec], started: Callable[[StartedRuns], None]
) -> None:
    """Start the runs in one request, or, when the body is larger than the server accepts,
    in two halves (each in turn, so the ids still come in order): a refused request started
    nothing, since a bulk run is all or none."""
    try:
        done = client.run_many(workflow_id, specs)
    except TreadleError as error:
        if error.code != BODY_TOO_LARGE or len(specs) == 1:
            raise
        half = len(specs) // 2
        _send_runs(client, workflow_id, specs[:half], started)
        _send_runs(client, workflow_id, specs[half:], started)
        return
    started(StartedRuns([run.execution_id for run in done.runs], done.created))


def _detail_line(detail: Any) -> str:
    """One problem of an error answer: where (a path or a field) and what."""
    if not isinstance(detail, dict):
        return str(detail)
    where = detail.get("path") or detail.get("key")
    message = detail.get("message") or detail
    return f"{where}: {message}" if where else str(message)


def _by_name(client: Client, name: str) -> Workflow | None:
    return next((w for w in client.iter_workflows(name, page_size=100) if w.name == name), None)


def _workflow(client: Client, name_or_id: str) -> Workflow:
    """A workflow by name, else by id (as the database mode finds it)."""
    found = _by_name(client, name_or_id)
    if found is not None:
        return found
    missing = NotFound(
        404, "not_found", f"no workflow named or with id {name_or_id!r} in this workspace"
    )
    try:
        detail = client.get_workflow(name_or_id)
    except NotFound:
        raise missing from None
    if detail.archived:
        raise missing
    return detail


def _kinds(client: Client, execution: Execution) -> list[tuple[str, str]]:
    """(node id, kind) of the execution's workflow version, in definition order."""
    try:
        version = client.get_workflow(execution.workflow_id, execution.version)
    except NotFound:
        return []
    nodes = version.definition.get("nodes", [])
    return [(str(node["id"]), str(node.get("kind", ""))) for node in nodes]


def _row(execution: Execution) -> ExecutionRow:
    return ExecutionRow(
        id=execution.id,
        workflow_id=execution.workflow_id,
        version=execution.version,
        status=execution.status,
        created_at=execution.created_at,
        finished_at=execution.finished_at,
        input=execution.input,
        output=execution.output,
        error=execution.error,
        cancel_requested=execution.cancel_requested,
    )


def _view(detail: ExecutionDetail, kinds: list[tuple[str, str]]) -> ExecutionView:
    runs = {run.node_id: run for run in detail.node_runs}
    order = kinds or [(node_id, "") for node_id in runs]
    nodes = []
    for node_id, kind in order:
        run = runs.get(node_id)
        if run is None:
            nodes.append(NodeRow(node_id, kind, "pending", 0, ""))
            continue
        detail_text = node_detail(run.error, run.status, run.waiting_for, run.skip_reason)
        nodes.append(NodeRow(node_id, kind, run.status, run.attempt, detail_text))
    return ExecutionView(_row(detail), nodes)


def _watch_live(client: Client, execution_id: str) -> ExecutionDetail:
    """The execution's nodes drawn live, re-read as its events stream in, until it ends."""
    detail = client.get_execution(execution_id)
    kinds = _kinds(client, detail)
    with Live(console=console(), auto_refresh=False, transient=False) as live:
        live.update(render(_view(detail, kinds)), refresh=True)
        drawn = time.monotonic()
        for _event in client.watch(execution_id):
            if time.monotonic() - drawn >= REDRAW_SECONDS:
                detail = client.get_execution(execution_id)
                live.update(render(_view(detail, kinds)), refresh=True)
                drawn = time.monotonic()
        detail = client.get_execution(execution_id)
        live.update(render(_view(detail, kinds)), refresh=True)
    if not sys.stdout.isatty():
        console().line()  # Live leaves its last frame without a line break outside a terminal
    return detail


def _event(event: Event) -> EventRow:
    return EventRow(event.seq, event.created_at, event.type, event.node_id, event.attempt)


def _schedule(schedule: Schedule) -> ScheduleRow:
    return ScheduleRow(
        schedule.id,
        schedule.workflow_id,
        schedule.cron,
        schedule.timezone,
        schedule.enabled,
        schedule.next_fire_at,
        schedule.last_fired_at,
    )


def _token(token: Token) -> TokenRow:
    return TokenRow(token.id, token.name, token.role, token.created_at, token.revoked_at)


def _member(member: Member) -> MemberRow:
    return MemberRow(
        member.user_id,
        member.email,
        member.display_name,
        member.role,
        member.joined_at,
        member.added_by,
    )


def _invitation(invitation: Invitation) -> InvitationRow:
    return InvitationRow(
        invitation.id,
        invitation.email,
        invitation.role,
        invitation.invited_by,
        invitation.created_at,
    )


def _whoami(me: Me) -> WhoAmI:
    others = [(w.name, w.role) for w in me.workspaces if w.id != me.workspace.id]
    if me.user is not None:
        name = (
            f"{me.user.display_name} <{me.user.email}>" if me.user.email else me.user.display_name
        )
        return WhoAmI("user", name, me.user.id, me.workspace.name, me.role, others)
    token_id, token_name = (me.token.id, me.token.name) if me.token else ("", "")
    return WhoAmI("token", token_name, token_id, me.workspace.name, me.role, others)


def _trigger(trigger: Trigger) -> TriggerRow:
    return TriggerRow(
        id=trigger.id,
        workflow_id=trigger.workflow_id,
        name=trigger.name,
        enabled=trigger.enabled,
        url=trigger.url,
        verification=trigger.verification,
        has_secret=trigger.has_secret,
        verify_header=trigger.verify_header,
        tolerance_seconds=trigger.tolerance_seconds,
        delivery_id_header=trigger.delivery_id_header,
        delivery_id_path=trigger.delivery_id_path,
        headers=list(trigger.headers),
        input=trigger.input,
        respond=trigger.respond,
        respond_node=trigger.respond_node,
        wait_seconds=trigger.wait_seconds,
        max_body_bytes=trigger.max_body_bytes,
        rate_limit=trigger.rate_limit,
        created_at=trigger.created_at,
        updated_at=trigger.updated_at,
        secret=trigger.secret if isinstance(trigger, TriggerSaved) else None,
    )


def _delivery(delivery: Delivery) -> DeliveryRow:
    return DeliveryRow(
        delivery.received_at,
        delivery.status_code,
        delivery.execution_id,
        delivery.delivery_id,
        delivery.error_code,
    )


def _policy(found: Retention) -> RetentionPolicy:
    return RetentionPolicy(
        keep_finished_days=found.keep_finished_days,
        keep_failed_days=found.keep_failed_days,
        keep_succeeded_hours=found.keep_succeeded_hours,
        keep_audit_days=found.keep_audit_days,
    )


def _audit_row(entry: AuditEntry) -> AuditRow:
    actor = entry.actor
    return AuditRow(
        at=entry.at,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        details=dict(entry.details),
    )
