"""Webhook triggers and their recent deliveries, in PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, delete, literal, select
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres.database import Db
from adapters.postgres.tables import trigger_deliveries, triggers
from application.triggers.records import Trigger, TriggerDelivery


def trigger_to_row(trigger: Trigger) -> dict[str, Any]:
    return {
        "id": trigger.id,
        "workspace_id": trigger.workspace_id,
        "workflow_id": trigger.workflow_id,
        "name": trigger.name,
        "enabled": trigger.enabled,
        "verification": trigger.verification,
        "secret_ciphertext": trigger.secret_ciphertext,
        "verify_header": trigger.verify_header,
        "tolerance_seconds": trigger.tolerance_seconds,
        "delivery_id_header": trigger.delivery_id_header,
        "delivery_id_path": trigger.delivery_id_path,
        "headers": list(trigger.headers),
        "input_template": trigger.input_template,
        "respond": trigger.respond,
        "respond_node": trigger.respond_node,
        "wait_seconds": trigger.wait_seconds,
        "max_body_bytes": trigger.max_body_bytes,
        "rate_limit": trigger.rate_limit,
        "created_at": trigger.created_at,
        "updated_at": trigger.updated_at,
    }


def row_to_trigger(row: RowMapping) -> Trigger:
    values = dict(row)
    values["headers"] = tuple(values["headers"])
    ciphertext = values["secret_ciphertext"]
    values["secret_ciphertext"] = bytes(ciphertext) if ciphertext is not None else None
    return Trigger(**values)


def row_to_delivery(row: RowMapping) -> TriggerDelivery:
    return TriggerDelivery(
        trigger_id=row["trigger_id"],
        received_at=row["received_at"],
        status_code=row["status_code"],
        execution_id=row["execution_id"],
        delivery_id=row["delivery_id"],
        error_code=row["error_code"],
    )


class PostgresTriggers:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, trigger: Trigger) -> None:
        await self._db.execute(insert(triggers).values(trigger_to_row(trigger)))

    async def get(self, workspace_id: str, trigger_id: str) -> Trigger | None:
        statement = select(triggers).where(
            triggers.c.id == trigger_id, triggers.c.workspace_id == workspace_id
        )
        row = await self._db.first(statement)
        return row_to_trigger(row) if row else None

    async def find(self, trigger_id: str) -> Trigger | None:
        row = await self._db.first(select(triggers).where(triggers.c.id == trigger_id))
        return row_to_trigger(row) if row else None

    async def save(self, trigger: Trigger) -> None:
        row = trigger_to_row(trigger)
        statement = insert(triggers).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in row if k != "id"}
        )
        await self._db.execute(statement)

    async def delete(self, trigger_id: str) -> None:
        await self._db.execute(delete(triggers).where(triggers.c.id == trigger_id))

    async def search(self, workspace_id: str, *, workflow_id: str | None = None) -> list[Trigger]:
        statement = select(triggers).where(triggers.c.workspace_id == workspace_id)
        if workflow_id is not None:
            statement = statement.where(triggers.c.workflow_id == workflow_id)
        statement = statement.order_by(triggers.c.created_at, triggers.c.id)
        return [row_to_trigger(row) for row in await self._db.rows(statement)]

    async def record_delivery(self, delivery: TriggerDelivery, keep: int) -> None:
        # A trigger deleted meanwhile inserts nothing (as its cascade would have removed it).
        values = select(
            triggers.c.id,
            *(
                _literal(name, getattr(delivery, name))
                for name in (
                    "received_at",
                    "status_code",
                    "execution_id",
                    "delivery_id",
                    "error_code",
                )
            ),
        ).where(triggers.c.id == delivery.trigger_id)
        columns = [
            "trigger_id",
            "received_at",
            "status_code",
            "execution_id",
            "delivery_id",
            "error_code",
        ]
        await self._db.execute(insert(trigger_deliveries).from_select(columns, values))
        oldest_kept = (
            select(trigger_deliveries.c.id)
            .where(trigger_deliveries.c.trigger_id == delivery.trigger_id)
            .order_by(trigger_deliveries.c.id.desc())
            .offset(max(keep, 1) - 1)
            .limit(1)
            .scalar_subquery()
        )
        forget = delete(trigger_deliveries).where(
            trigger_deliveries.c.trigger_id == delivery.trigger_id,
            trigger_deliveries.c.id < oldest_kept,
        )
        await self._db.execute(forget)

    async def deliveries(self, trigger_id: str, limit: int) -> list[TriggerDelivery]:
        statement = (
            select(trigger_deliveries)
            .where(trigger_deliveries.c.trigger_id == trigger_id)
            .order_by(trigger_deliveries.c.id.desc())
            .limit(limit)
        )
        return [row_to_delivery(row) for row in await self._db.rows(statement)]


def _literal(name: str, value: Any) -> Any:
    column = trigger_deliveries.c[name]
    return literal(value, column.type).label(name)
