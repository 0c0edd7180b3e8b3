"""The management commands on the database: the composition root (`bootstrap`) opened on
`DATABASE_URL` for one action, as the API and the workers open it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.audit import LOCAL_CLI, AuditEntry, AuditFilter
from application.document_limits import MAX_RUNS
from application.errors import NotFound
from application.node_kinds import KindListing
from application.people import Invitation, Member
from application.records import ApiToken, StoredEvent, Workflow
from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.create_workflow import CreateWorkflow, SourceText
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.people import CancelInvitation, ChangeRole, Invite, RemoveMember
from application.use_cases.rerun_execution import RerunExecution
from application.use_cases.retry_execution import RetryExecution
from application.use_cases.start_run import StartRun
from application.use_cases.start_runs import StartRuns
from application.use_cases.tokens import CreatedToken, CreateToken, RevokeToken, RevokeTokenHandler
from application.use_cases.update_workflow import UpdateWorkflow
from domain.execution import Execution
from domain.retention import RetentionPolicy
from domain.status import ExecutionStatus
from entrypoints.api.schemas.workflows import source_reader
from entrypoints.cli.audit_views import AuditQuery, AuditRow
from entrypoints.cli.common import ensure_workspace, find_workflow, find_workspace, with_runtime
from entrypoints.cli.member_views import InvitationRow, MemberRow
from entrypoints.cli.views import (
    Applied,
    Checked,
    EventRow,
    ExecutionRow,
    ExecutionView,
    KindRow,
    NewToken,
    RunRequest,
    StartedRuns,
    TokenRow,
    WorkflowRow,
)
from entrypoints.cli.watch import (
    Snapshot,
    execution_row,
    read_snapshot,
    snapshot_view,
    watch_live,
)
from entrypoints.runtime import Runtime


class DatabaseOperations:
    """`Operations` on the database."""

    def check_workflow(self, workspace: str, name: str, document: dict[str, Any]) -> Checked:
        async def check(runtime: Runtime) -> Checked:
            space = await ensure_workspace(runtime, workspace)
            found = await runtime.engine.create_workflow().validate(space.id, document, name)
            return Checked(list(found.problems), list(found.warnings))

        return with_runtime(check)

    def apply_workflow(
        self, workspace: str, name: str, description: str | None, source: str
    ) -> Applied:
        text = SourceText(source, source_reader(None))

        async def store(runtime: Runtime) -> Applied:
            space = await ensure_workspace(runtime, workspace)
            async with runtime.uow_factory() as uow:
                existing = await uow.workflows.get_by_name(space.id, name)
            if existing is None:
                create = CreateWorkflow(
                    space.id, name, description=description or "", source=text, actor=LOCAL_CLI
                )
                made = await runtime.engine.create_workflow()(create)
                return Applied(made.name, made.id, made.latest_version, created=True)
            update = UpdateWorkflow(
                space.id, existing.id, description=description, source=text, actor=LOCAL_CLI
            )
            saved = await runtime.engine.update_workflow().save(update)
            workflow = saved.workflow
            return Applied(
                workflow.name, workflow.id, workflow.latest_version, False, saved.unchanged
            )

        return with_runtime(store)

    def list_node_kinds(self) -> list[KindRow]:
        async def load(runtime: Runtime) -> list[KindListing]:
            return await runtime.engine.node_kinds().listing()

        return [
            KindRow(
                found.description.name,
                found.description.title,
                found.builtin,
                found.description.package,
                found.last_seen_at,
            )
            for found in with_runtime(load)
        ]

    def list_workflows(self, workspace: str, limit: int) -> list[WorkflowRow]:
        async def load(runtime: Runtime) -> list[Workflow]:
            space = await find_workspace(runtime, workspace)
            async with runtime.uow_factory() as uow:
                return await uow.workflows.search(space.id, limit=limit)

        return [
            WorkflowRow(w.name, w.id, w.latest_version, w.updated_at, w.description)
            for w in with_runtime(load)
            if not w.archived
        ]

    def run(
        self,
        workspace: str,
        workflow: str,
        payload: Any,
        idempotency_key: str | None,
        watch: bool,
        started: Callable[[str], None],
    ) -> ExecutionRow:
        async def start(runtime: Runtime) -> Execution:
            space = await find_workspace(runtime, workspace)
            found = await find_workflow(runtime, space.id, workflow)
            command = StartRun(
                space.id, found.id, payload, idempotency_key=idempotency_key, actor=LOCAL_CLI
            )
            execution = (await runtime.engine.start_run()(command)).execution
            started(execution.id)
            if not watch:
                return execution
            return await watch_live(runtime, execution.id)

        return execution_row(with_runtime(start))

    def run_many(
        self,
        workspace: str,
        workflow: str,
        runs: list[RunRequest],
        started: Callable[[StartedRuns], None],
    ) -> None:
        async def start(runtime: Runtime) -> None:
            space = await find_workspace(runtime, workspace)
            found = await find_workflow(runtime, space.id, workflow)
            start_runs = runtime.engine.start_runs()
            for offset in range(0, len(runs), MAX_RUNS):
                part = [
                    StartRun(
                        space.id,
                        found.id,
                        run.input,
                        idempotency_key=run.idempotency_key,
                        actor=LOCAL_CLI,
                    )
                    for run in runs[offset : offset + MAX_RUNS]
                ]
                done = await start_runs(StartRuns(space.id, found.id, part, actor=LOCAL_CLI))
                ids = [one.execution.id for one in done]
                started(StartedRuns(ids, sum(one.created for one in done)))

        with_runtime(start)

    def watch(self, workspace: str, execution_id: str) -> ExecutionRow:
        async def follow(runtime: Runtime) -> Execution:
            space = await find_workspace(runtime, workspace)
            snapshot = await read_snapshot(runtime, execution_id)
            if snapshot.execution.workspace_id != space.id:
                raise NotFound(f"no execution {execution_id} in this workspace")
            return await watch_live(runtime, execution_id)

        return execution_row(with_runtime(follow))

    def list_executions(
        self, workspace: str, workflow: str | None, statuses: list[str], limit: int
    ) -> list[ExecutionRow]:
        wanted = [ExecutionStatus(status) for status in statuses]

        async def load(runtime: Runtime) -> list[Execution]:
            space = await find_workspace(runtime, workspace)
            workflow_id = (
                (await find_workflow(runtime, space.id, workflow)).id if workflow else None
            )
            async with runtime.uow_factory() as uow:
                return await uow.executions.search(
                    space.id, workflow_id=workflow_id, statuses=wanted, limit=limit
                )

        return [execution_row(execution) for execution in with_runtime(load)]

    def show_execution(
        self, workspace: str, execution_id: str, events: bool
    ) -> tuple[ExecutionView, list[EventRow]]:
        async def load(runtime: Runtime) -> tuple[Snapshot, list[StoredEvent]]:
            space = await find_workspace(runtime, workspace)
            snapshot = await read_snapshot(runtime, execution_id)
            if snapshot.execution.workspace_id != space.id:
                raise NotFound(f"no execution {execution_id} in this workspace")
            if not events:
                return snapshot, []
            async with runtime.uow_factory() as uow:
                return snapshot, await uow.events.search(execution_id, limit=10_000)

        snapshot, timeline = with_runtime(load)
        rows = [EventRow(e.seq, e.created_at, e.type, e.node_id, e.attempt) for e in timeline]
        return snapshot_view(snapshot), rows

    def cancel(self, workspace: str, execution_id: str) -> ExecutionRow:
        async def act(runtime: Runtime) -> Execution:
            space = await find_workspace(runtime, workspace)
            command = CancelExecution(space.id, execution_id, actor=LOCAL_CLI)
            return await runtime.engine.cancel_execution()(command)

        return execution_row(with_runtime(act))

    def retry(self, workspace: str, execution_id: str) -> ExecutionRow:
        async def act(runtime: Runtime) -> Execution:
            space = await find_workspace(runtime, workspace)
            command = RetryExecution(space.id, execution_id, actor=LOCAL_CLI)
            return await runtime.engine.retry_execution()(command)

        return execution_row(with_runtime(act))

    def rerun(self, workspace: str, execution_id: str) -> ExecutionRow:
        async def act(runtime: Runtime) -> Execution:
            space = await find_workspace(runtime, workspace)
            command = RerunExecution(space.id, execution_id, actor=LOCAL_CLI)
            return await runtime.engine.rerun_execution()(command)

        return execution_row(with_runtime(act))

    def signal(self, workspace: str, execution_id: str, name: str, payload: Any) -> str:
        async def act(runtime: Runtime) -> str:
            space = await find_workspace(runtime, workspace)
            command = DeliverSignal(space.id, execution_id, name, payload, actor=LOCAL_CLI)
            return (await runtime.engine.deliver_signal()(command)).id

        return with_runtime(act)

    def create_token(self, workspace: str, name: str, role: str) -> NewToken:
        async def create(runtime: Runtime) -> CreatedToken:
            space = await ensure_workspace(runtime, workspace)
            return await runtime.services.create_token()(
                CreateToken(space.id, name, role, actor=LOCAL_CLI)
            )

        created = with_runtime(create)
        return NewToken(_token_row(created.record), workspace, created.secret)

    def list_tokens(self, workspace: str) -> list[TokenRow]:
        async def load(runtime: Runtime) -> list[ApiToken]:
            space = await find_workspace(runtime, workspace)
            async with runtime.uow_factory() as uow:
                return await uow.tokens.search(space.id)

        return [_token_row(token) for token in with_runtime(load)]

    def revoke_token(self, workspace: str, token_id: str) -> str:
        async def revoke(runtime: Runtime) -> ApiToken:
            space = await find_workspace(runtime, workspace)
            handler = RevokeTokenHandler(runtime.uow_factory, runtime.clock)
            return await handler(RevokeToken(space.id, token_id, actor=LOCAL_CLI))

        return with_runtime(revoke).id

    def list_members(self, workspace: str) -> list[MemberRow]:
        async def load(runtime: Runtime) -> list[Member]:
            space = await find_workspace(runtime, workspace)
            return await runtime.services.people_queries().members(space.id)

        return [_member_row(member) for member in with_runtime(load)]

    def list_invitations(self, workspace: str) -> list[InvitationRow]:
        async def load(runtime: Runtime) -> list[Invitation]:
            space = await find_workspace(runtime, workspace)
            return await runtime.services.people_queries().invitations(space.id)

        return [_invitation_row(invitation) for invitation in with_runtime(load)]

    def invite(self, workspace: str, email: str, role: str) -> InvitationRow:
        async def act(runtime: Runtime) -> Invitation:
            # Like `tokens create`, so an install's first admin can be invited from here.
            space = await ensure_workspace(runtime, workspace)
            return await runtime.services.invite()(Invite(space.id, email, role, LOCAL_CLI))

        return _invitation_row(with_runtime(act))

    def cancel_invitation(self, workspace: str, invitation_id: str) -> None:
        async def act(runtime: Runtime) -> None:
            space = await find_workspace(runtime, workspace)
            command = CancelInvitation(space.id, invitation_id, LOCAL_CLI)
            await runtime.services.cancel_invitation()(command)

        with_runtime(act)

    def change_role(self, workspace: str, user_id: str, role: str) -> MemberRow:
        async def act(runtime: Runtime) -> Member:
            space = await find_workspace(runtime, workspace)
            command = ChangeRole(space.id, user_id, role, LOCAL_CLI)
            return await runtime.services.change_membership().change_role(command)

        return _member_row(with_runtime(act))

    def remove_member(self, workspace: str, user_id: str) -> None:
        async def act(runtime: Runtime) -> None:
            space = await find_workspace(runtime, workspace)
            command = RemoveMember(space.id, user_id, LOCAL_CLI)
            await runtime.services.change_membership().remove(command)

        with_runtime(act)

    def list_audit(self, workspace: str, query: AuditQuery) -> list[AuditRow]:
        async def load(runtime: Runtime) -> list[AuditEntry]:
            space = await find_workspace(runtime, workspace)
            where = AuditFilter(action=query.action, object_id=query.object_id, since=query.since)
            async with runtime.uow_factory() as uow:
                return await uow.audit.search(space.id, where, limit=query.limit)

        return [_audit_row(entry) for entry in with_runtime(load)]

    def get_retention(self, workspace: str) -> RetentionPolicy:
        async def load(runtime: Runtime) -> RetentionPolicy:
            space = await find_workspace(runtime, workspace)
            return await runtime.retention_settings().policy_of(space.id)

        return with_runtime(load)

    def set_retention(self, workspace: str, policy: RetentionPolicy) -> RetentionPolicy:
        async def store(runtime: Runtime) -> RetentionPolicy:
            space = await find_workspace(runtime, workspace)
            return await runtime.retention_settings().set_policy(space.id, policy, LOCAL_CLI)

        return with_runtime(store)


def _token_row(token: ApiToken) -> TokenRow:
    return TokenRow(token.id, token.name, token.role, token.created_at, token.revoked_at)


def _member_row(member: Member) -> MemberRow:
    user, membership = member.user, member.membership
    return MemberRow(
        user.id,
        user.email,
        user.display_name,
        membership.role,
        membership.created_at,
        membership.added_by,
    )


def _invitation_row(invitation: Invitation) -> InvitationRow:
    return InvitationRow(
        invitation.id,
        invitation.email,
        invitation.role,
        invitation.invited_by,
        invitation.created_at,
    )


def _audit_row(entry: AuditEntry) -> AuditRow:
    actor = entry.actor
    return AuditRow(
        at=entry.at,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        details=dict(entry.details),
    )
