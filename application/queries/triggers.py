"""Reading a workspace's triggers and their recent deliveries."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWorkFactory
from application.queries.workflows import owned_workflow
from application.triggers.records import Trigger, TriggerDelivery
from application.use_cases.receive_hook import KEPT_DELIVERIES

RECENT_DELIVERIES = 20


@dataclass(frozen=True)
class TriggerWithDeliveries:
    trigger: Trigger
    deliveries: list[TriggerDelivery]


class TriggerQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def search(self, workspace_id: str, workflow_id: str | None = None) -> list[Trigger]:
        async with self._uow() as uow:
            if workflow_id is not None:
                await owned_workflow(uow, workspace_id, workflow_id)
            return await uow.triggers.search(workspace_id, workflow_id=workflow_id)

    async def get(self, workspace_id: str, trigger_id: str) -> Trigger:
        async with self._uow() as uow:
            found = await uow.triggers.get(workspace_id, trigger_id)
        if found is None:
            raise NotFound(f"no trigger {trigger_id} in this workspace")
        return found

    async def deliveries(
        self, workspace_id: str, trigger_id: str, limit: int = RECENT_DELIVERIES
    ) -> list[TriggerDelivery]:
        async with self._uow() as uow:
            if await uow.triggers.get(workspace_id, trigger_id) is None:
                raise NotFound(f"no trigger {trigger_id} in this workspace")
            return await uow.triggers.deliveries(trigger_id, limit)

    async def with_deliveries(
        self, workspace_id: str, workflow_id: str, limit: int = RECENT_DELIVERIES
    ) -> list[TriggerWithDeliveries]:
        """A workflow's triggers, each with its newest deliveries (for the console)."""
        async with self._uow() as uow:
            triggers = await uow.triggers.search(workspace_id, workflow_id=workflow_id)
            return [
                TriggerWithDeliveries(t, await uow.triggers.deliveries(t.id, limit))
                for t in triggers
            ]

    async def started_by(
        self, workspace_id: str, workflow_ids: Collection[str]
    ) -> dict[str, Trigger]:
        """Which trigger started each execution of these workflows, as far as the deliveries
        each trigger keeps remember (its newest `KEPT_DELIVERIES`): execution id to trigger.

        An execution does not record the trigger that started it; a webhook run older than
        its trigger's kept deliveries, or of a deleted trigger, is not found here."""
        if not workflow_ids:
            return {}
        found: dict[str, Trigger] = {}
        async with self._uow() as uow:
            triggers = await uow.triggers.search(workspace_id)
            for trigger in triggers:
                if trigger.workflow_id not in workflow_ids:
                    continue
                for delivery in await uow.triggers.deliveries(trigger.id, KEPT_DELIVERIES):
                    if delivery.execution_id is not None:
                        found.setdefault(delivery.execution_id, trigger)
        return found
