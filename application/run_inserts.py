"""Run inserts through a unit of work: the `RunInserts` port for adapter sets (memory) that
have no cheaper way, and the behaviour the one-exchange PostgreSQL inserts must match."""

from __future__ import annotations

from collections.abc import Sequence

from application.audit import AuditEntry, with_started
from application.ports.run_inserts import KeyedRun, NewRun, StoredRun, check_batch
from application.ports.unit_of_work import NewExecution, UnitOfWork, UnitOfWorkFactory


class InsertsThroughUnitOfWork:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def insert_if_current(self, run: NewRun, audit: AuditEntry | None = None) -> bool:
        execution = run.execution
        async with self._uow() as uow:
            if await uow.executions.get(execution.id) is not None:
                return True
            if not await _is_current(uow, run):
                return False
            await uow.executions.add(execution, list(run.node_ids), list(run.events))
            if audit is not None:
                await uow.audit.add(audit)
            for channel, payload in run.notifications:
                uow.notify_after_commit(channel, payload)
            await uow.commit()
        return True

    async def insert_all_if_current(
        self, runs: Sequence[KeyedRun], audit: AuditEntry | None = None
    ) -> list[StoredRun] | None:
        if not runs:
            return []
        check_batch(runs)
        async with self._uow() as uow:
            if not await _is_current(uow, runs[0].run):
                return None
            workflow_id = runs[0].run.execution.workflow_id
            answers: list[StoredRun] = []
            new: list[KeyedRun] = []
            for keyed in runs:
                key = keyed.idempotency_key
                earlier = None
                if key is not None:
                    earlier = await uow.executions.find_by_idempotency_key(workflow_id, key)
                if earlier is not None:
                    answers.append(StoredRun(earlier, created=False))
                else:
                    answers.append(StoredRun(keyed.run.execution, created=True))
                    new.append(keyed)
            await uow.executions.add_many(
                [NewExecution(k.run.execution, k.run.node_ids, k.run.events) for k in new]
            )
            for keyed in new:
                if keyed.idempotency_key is not None:
                    # Conflict (and a rollback) if a concurrent request took the key.
                    await uow.executions.remember_idempotency_key(
                        workflow_id, keyed.idempotency_key, keyed.run.execution.id
                    )
                for channel, payload in keyed.run.notifications:
                    uow.notify_after_commit(channel, payload)
            if audit is not None and new:
                await uow.audit.add(with_started(audit, [k.run.execution.id for k in new]))
            await uow.commit()
        return answers


async def _is_current(uow: UnitOfWork, run: NewRun) -> bool:
    """Whether the run's workflow is in its workspace, not archived, and still at the latest
    version the run was checked against."""
    execution = run.execution
    workflow = await uow.workflows.get(execution.workspace_id, execution.workflow_id)
    return (
        workflow is not None
        and not workflow.archived
        and workflow.latest_version == run.latest_version
    )
