"""Run inserts through a unit of work: the `RunInserts` port for adapter sets (memory) that
have no cheaper way, and the behaviour the one-exchange PostgreSQL inserts must match."""

from __future__ import annotations

from application.ports.run_inserts import NewRun
from application.ports.unit_of_work import UnitOfWorkFactory


class InsertsThroughUnitOfWork:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def insert_if_current(self, run: NewRun) -> bool:
        execution = run.execution
        async with self._uow() as uow:
            if await uow.executions.get(execution.id) is not None:
                return True
            workflow = await uow.workflows.get(execution.workspace_id, execution.workflow_id)
            if workflow is None or workflow.archived:
                return False
            if workflow.latest_version != run.latest_version:
                return False
            await uow.executions.add(execution, list(run.node_ids), list(run.events))
            for channel, payload in run.notifications:
                uow.notify_after_commit(channel, payload)
            await uow.commit()
        return True
