"""In-memory repositories: the same contract as the Postgres ones, over InMemoryStore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.journal import Journal
from adapters.memory.store import InMemoryStore
from application.errors import Conflict, LeaseLost, StaleExecution
from application.ports.unit_of_work import EventBatch, FencedSave
from application.records import (
    ApiToken,
    Lease,
    Schedule,
    Signal,
    StoredEvent,
    StoredSecret,
    Workflow,
    WorkflowVersion,
    Workspace,
)
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus


class _Repo:
    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self.store = store
        self.journal = journal


class MemoryWorkflows(_Repo):
    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None:
        if await self.get_by_name(workflow.workspace_id, workflow.name) is not None:
            raise Conflict(f"a workflow named {workflow.name!r} already exists")
        self.journal.set(self.store.workflows, workflow.id, workflow)
        self.journal.set(self.store.versions, (workflow.id, first_version.version), first_version)

    async def get(self, workspace_id: str, workflow_id: str) -> Workflow | None:
        found = self.store.workflows.get(workflow_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    async def get_by_name(self, workspace_id: str, name: str) -> Workflow | None:
        for workflow in self.store.workflows.values():
            if workflow.workspace_id == workspace_id and workflow.name == name:
                return workflow
        return None

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        if (workflow.id, version.version) in self.store.versions:
            raise Conflict(f"version {version.version} of {workflow.id} already exists")
        self.journal.set(self.store.versions, (workflow.id, version.version), version)
        self.journal.set(self.store.workflows, workflow.id, workflow)

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None:
        return self.store.versions.get((workflow_id, version))

    async def list_versions(self, workflow_id: str) -> list[WorkflowVersion]:
        found = [v for (wf, _), v in self.store.versions.items() if wf == workflow_id]
        return sorted(found, key=lambda v: v.version, reverse=True)

    async def search(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Workflow]:
        found = sorted(
            (
                w
                for w in self.store.workflows.values()
                if w.workspace_id == workspace_id and (name is None or name in w.name)
            ),
            key=lambda w: (w.name, w.id),
        )
        if after is not None:
            found = [w for w in found if (w.name, w.id) > _workflow_key(self.store, after)]
        return found[:limit]

    async def save(self, workflow: Workflow) -> None:
        self.journal.set(self.store.workflows, workflow.id, workflow)


def _workflow_key(store: InMemoryStore, workflow_id: str) -> tuple[str, str]:
    found = store.workflows.get(workflow_id)
    return (found.name, found.id) if found else ("", workflow_id)


class MemoryExecutions(_Repo):
    async def add(
        self,
        execution: Execution,
        node_ids: Sequence[str],
        first_events: Sequence[DomainEvent] = (),
    ) -> None:
        self.journal.set(self.store.executions, execution.id, execution)
        self.journal.set(self.store.node_runs, execution.id, {n: NodeRun(n) for n in node_ids})
        if first_events:
            events = MemoryEvents(self.store, self.journal)
            await events.append(execution.id, 1, first_events, execution.created_at)

    async def get(self, execution_id: str) -> Execution | None:
        return self.store.executions.get(execution_id)

    async def lock(self, execution_id: str) -> Execution | None:
        return self.store.executions.get(execution_id)

    async def lock_leased(self, leases: Sequence[Lease]) -> dict[str, Execution]:
        now = self.store.clock.now()
        held = {}
        for lease in leases:
            execution = self.store.executions.get(lease.execution_id)
            if execution is not None and self._holds(lease, now):
                held[execution.id] = execution
        return held

    async def lock_leased_with_runs(
        self, leases: Sequence[Lease], runs_of: Sequence[str]
    ) -> tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]:
        held = await self.lock_leased(leases)
        runs = MemoryNodeRuns(self.store, self.journal)
        return held, await runs.get_for([id_ for id_ in runs_of if id_ in held])

    def _holds(self, lease: Lease, now: datetime) -> bool:
        row = self.store.leases[lease.execution_id]
        alive = row.expires_at is not None and row.expires_at > now
        return row.token == lease.token and row.owner == lease.worker_id and alive

    async def save(self, execution: Execution, *, expected_seq: int, lease: Lease | None) -> None:
        stored = self.store.executions.get(execution.id)
        if stored is None:
            raise StaleExecution("the execution no longer exists")
        row = self.store.leases[execution.id]
        if lease is not None and not self._holds(lease, self.store.clock.now()):
            raise LeaseLost()
        if stored.seq != expected_seq:
            raise StaleExecution()
        self.journal.set(self.store.executions, execution.id, execution)
        if lease is not None and execution.status is not ExecutionStatus.RUNNING:
            self.journal.set(
                self.store.leases, execution.id, replace(row, owner=None, expires_at=None)
            )

    async def save_many(self, saves: Sequence[FencedSave]) -> None:
        # A rejected save raises; the unit of work then takes back the ones before it.
        for save in saves:
            await self.save(save.execution, expected_seq=save.expected_seq, lease=save.lease)

    async def find_by_idempotency_key(self, workflow_id: str, key: str) -> Execution | None:
        found = self.store.idempotency.get((workflow_id, key))
        return self.store.executions.get(found) if found else None

    async def remember_idempotency_key(self, workflow_id: str, key: str, execution_id: str) -> None:
        if (workflow_id, key) in self.store.idempotency:
            raise Conflict(f"idempotency key {key!r} is already used")
        self.journal.set(self.store.idempotency, (workflow_id, key), execution_id)

    async def find_child(self, parent_execution_id: str, parent_node_id: str) -> Execution | None:
        for execution in self.store.executions.values():
            parent = execution.parent
            if parent and (parent.execution_id, parent.node_id) == (
                parent_execution_id,
                parent_node_id,
            ):
                return execution
        return None

    async def find_by_schedule_fire(
        self, schedule_id: str, fire_time: datetime
    ) -> Execution | None:
        for execution in self.store.executions.values():
            if execution.schedule_id == schedule_id and execution.scheduled_for == fire_time:
                return execution
        return None

    async def search(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
    ) -> list[Execution]:
        found = [
            e
            for e in self.store.executions.values()
            if e.workspace_id == workspace_id
            and (workflow_id is None or e.workflow_id == workflow_id)
            and (not statuses or e.status in statuses)
            and (before is None or (e.created_at, e.id) < before)
        ]
        found.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return found[:limit]

    async def any_active_for_schedule(self, schedule_id: str) -> bool:
        return any(
            e.schedule_id == schedule_id and not e.status.is_terminal
            for e in self.store.executions.values()
        )


class MemoryNodeRuns(_Repo):
    async def get_all(self, execution_id: str) -> dict[str, NodeRun]:
        return dict(self.store.node_runs.get(execution_id, {}))

    async def get_for(self, execution_ids: Sequence[str]) -> dict[str, dict[str, NodeRun]]:
        return {execution_id: await self.get_all(execution_id) for execution_id in execution_ids}

    async def save_many(self, execution_id: str, runs: Sequence[NodeRun]) -> None:
        table = dict(self.store.node_runs.get(execution_id, {}))
        table.update({run.node_id: run for run in runs})
        self.journal.set(self.store.node_runs, execution_id, table)

    async def save_for(self, runs: Mapping[str, Sequence[NodeRun]]) -> None:
        for execution_id, changed in runs.items():
            await self.save_many(execution_id, changed)


class MemoryEvents(_Repo):
    async def append(
        self, execution_id: str, first_seq: int, events: Sequence[DomainEvent], at: datetime
    ) -> None:
        log = self.store.events[execution_id]
        if len(log) + 1 != first_seq:
            raise Conflict(f"event {first_seq} of {execution_id} is out of sequence")
        for offset, event in enumerate(events):
            stored = StoredEvent(
                execution_id,
                first_seq + offset,
                event.type,
                event.node_id,
                event.attempt,
                dict(event.payload),
                at,
            )
            self.journal.append(log, stored)

    async def append_many(self, batches: Sequence[EventBatch], at: datetime) -> None:
        # Check every batch before writing any, so a conflict leaves nothing of the call.
        next_seq = {
            batch.execution_id: len(self.store.events[batch.execution_id]) + 1 for batch in batches
        }
        for batch in batches:
            if next_seq[batch.execution_id] != batch.first_seq:
                raise Conflict(
                    f"event {batch.first_seq} of {batch.execution_id} is out of sequence"
                )
            next_seq[batch.execution_id] += len(batch.events)
        for batch in batches:
            await self.append(batch.execution_id, batch.first_seq, batch.events, at)

    async def search(
        self, execution_id: str, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredEvent]:
        log = self.store.events.get(execution_id, [])
        return [e for e in log if e.seq > after_seq][:limit]


class MemorySignals(_Repo):
    async def add(self, signal: Signal) -> None:
        self.journal.append(self.store.signals[signal.execution_id], signal)

    async def take_oldest(
        self, execution_id: str, name: str, node_id: str, at: datetime
    ) -> Signal | None:
        signals = self.store.signals[execution_id]
        for index, signal in enumerate(signals):
            if signal.name == name and signal.consumed_by is None:
                taken = replace(signal, consumed_by=node_id, consumed_at=at)
                self.journal.replace_item(signals, index, taken)
                return taken
        return None

    async def search(self, execution_id: str) -> list[Signal]:
        return list(self.store.signals.get(execution_id, []))


class MemorySchedules(_Repo):
    async def add(self, schedule: Schedule) -> None:
        self.journal.set(self.store.schedules, schedule.id, schedule)

    async def get(self, workspace_id: str, schedule_id: str) -> Schedule | None:
        found = self.store.schedules.get(schedule_id)
        return found if found and found.workspace_id == workspace_id else None

    async def save(self, schedule: Schedule) -> None:
        self.journal.set(self.store.schedules, schedule.id, schedule)

    async def delete(self, schedule_id: str) -> None:
        self.journal.delete(self.store.schedules, schedule_id)

    async def search(self, workspace_id: str, *, workflow_id: str | None = None) -> list[Schedule]:
        return sorted(
            (
                s
                for s in self.store.schedules.values()
                if s.workspace_id == workspace_id
                and (workflow_id is None or s.workflow_id == workflow_id)
            ),
            key=lambda s: (s.created_at, s.id),
        )

    async def lock_due(self, now: datetime, limit: int) -> list[Schedule]:
        due = [
            s
            for s in self.store.schedules.values()
            if s.enabled and s.next_fire_at is not None and s.next_fire_at <= now
        ]
        return sorted(due, key=lambda s: (s.next_fire_at or now, s.id))[:limit]


class MemoryWorkspaces(_Repo):
    async def add(self, workspace: Workspace) -> None:
        if await self.get_by_name(workspace.name) is not None:
            raise Conflict(f"a workspace named {workspace.name!r} already exists")
        self.journal.set(self.store.workspaces, workspace.id, workspace)

    async def get(self, workspace_id: str) -> Workspace | None:
        return self.store.workspaces.get(workspace_id)

    async def get_by_name(self, name: str) -> Workspace | None:
        return next((w for w in self.store.workspaces.values() if w.name == name), None)


class MemoryTokens(_Repo):
    async def add(self, token: ApiToken) -> None:
        self.journal.set(self.store.tokens, token.id, token)

    async def find_by_hash(self, token_hash: str) -> ApiToken | None:
        return next((t for t in self.store.tokens.values() if t.token_hash == token_hash), None)

    async def search(self, workspace_id: str) -> list[ApiToken]:
        found = [t for t in self.store.tokens.values() if t.workspace_id == workspace_id]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    async def save(self, token: ApiToken) -> None:
        self.journal.set(self.store.tokens, token.id, token)


class MemorySecrets(_Repo):
    async def put(self, secret: StoredSecret) -> None:
        self.journal.set(self.store.secrets, (secret.workspace_id, secret.name), secret)

    async def get_many(self, workspace_id: str, names: Sequence[str]) -> list[StoredSecret]:
        found = (self.store.secrets.get((workspace_id, name)) for name in names)
        return [secret for secret in found if secret is not None]

    async def search(self, workspace_id: str) -> list[StoredSecret]:
        found = [s for (ws, _), s in self.store.secrets.items() if ws == workspace_id]
        return sorted(found, key=lambda s: s.name)

    async def delete(self, workspace_id: str, name: str) -> bool:
        existed = (workspace_id, name) in self.store.secrets
        self.journal.delete(self.store.secrets, (workspace_id, name))
        return existed
