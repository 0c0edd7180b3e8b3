"""Webhook triggers and their recent deliveries, in memory."""

from __future__ import annotations

from adapters.memory.repositories.base import Repo
from application.triggers.records import Trigger, TriggerDelivery


class MemoryTriggers(Repo):
    async def add(self, trigger: Trigger) -> None:
        self.journal.set(self.store.triggers, trigger.id, trigger)

    async def get(self, workspace_id: str, trigger_id: str) -> Trigger | None:
        found = self.store.triggers.get(trigger_id)
        return found if found and found.workspace_id == workspace_id else None

    async def find(self, trigger_id: str) -> Trigger | None:
        return self.store.triggers.get(trigger_id)

    async def save(self, trigger: Trigger) -> None:
        self.journal.set(self.store.triggers, trigger.id, trigger)

    async def delete(self, trigger_id: str) -> None:
        self.journal.delete(self.store.triggers, trigger_id)
        self.journal.delete(self.store.trigger_deliveries, trigger_id)

    async def search(self, workspace_id: str, *, workflow_id: str | None = None) -> list[Trigger]:
        return sorted(
            (
                t
                for t in self.store.triggers.values()
                if t.workspace_id == workspace_id
                and (workflow_id is None or t.workflow_id == workflow_id)
            ),
            key=lambda t: (t.created_at, t.id),
        )

    async def record_delivery(self, delivery: TriggerDelivery, keep: int) -> None:
        if delivery.trigger_id not in self.store.triggers:
            return  # deleted meanwhile: as the foreign key's cascade would have it
        kept = self.store.trigger_deliveries.get(delivery.trigger_id, [])
        newest = [*kept, delivery][-max(keep, 1) :]
        self.journal.set(self.store.trigger_deliveries, delivery.trigger_id, newest)

    async def deliveries(self, trigger_id: str, limit: int) -> list[TriggerDelivery]:
        kept = self.store.trigger_deliveries.get(trigger_id, [])
        return list(reversed(kept))[:limit]
