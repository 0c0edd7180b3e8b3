"""An execution's node runs, event log and signals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres import hot_sql, mappers
from adapters.postgres.database import Db
from adapters.postgres.tables import events, signals
from application.errors import Conflict
from application.records import Signal, StoredEvent
from domain.events import DomainEvent
from domain.node_run import NodeRun

# Node runs are inserted with their execution, in definition order; a run saved later for
# a node the execution did not start with sorts after them.
_LATE_NODE_POSITION = 1_000_000


class PostgresNodeRuns:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def get_all(self, execution_id: str) -> dict[str, NodeRun]:
        rows = await self._db.fetch(hot_sql.GET_NODE_RUNS, {"execution_id": execution_id})
        runs = [mappers.row_to_node_run(row) for row in rows]
        return {run.node_id: run for run in runs}

    async def save_many(self, execution_id: str, runs: Sequence[NodeRun]) -> None:
        if not runs:
            return
        rows = [
            mappers.node_run_to_row(execution_id, run, _LATE_NODE_POSITION + offset)
            for offset, run in enumerate(runs)
        ]
        flat = hot_sql.flatten("node_runs", hot_sql.NODE_RUN_COLUMNS, rows)
        await self._db.fetch(hot_sql.upsert_node_runs(len(rows)), flat)


class PostgresEvents:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def append(
        self, execution_id: str, first_seq: int, events_: Sequence[DomainEvent], at: datetime
    ) -> None:
        if not events_:
            return
        rows = [
            mappers.event_to_row(execution_id, first_seq + offset, event, at)
            for offset, event in enumerate(events_)
        ]
        flat = hot_sql.flatten("events", hot_sql.EVENT_COLUMNS, rows)
        found = await self._db.fetch(hot_sql.insert_events(len(rows)), flat)
        inserted = [row["seq"] for row in found]
        if len(inserted) != len(rows):
            # Take back the part that landed, so the transaction is as it was before.
            await self._db.execute(
                delete(events).where(
                    events.c.execution_id == execution_id, events.c.seq.in_(inserted)
                )
            )
            raise Conflict(f"event {first_seq} of {execution_id} is out of sequence")

    async def search(
        self, execution_id: str, *, after_seq: int = 0, limit: int = 500
    ) -> list[StoredEvent]:
        statement = (
            select(events)
            .where(events.c.execution_id == execution_id, events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        )
        return [mappers.row_to_event(row) for row in await self._db.rows(statement)]


class PostgresSignals:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, signal: Signal) -> None:
        await self._db.execute(insert(signals).values(mappers.signal_to_row(signal)))

    async def take_oldest(
        self, execution_id: str, name: str, node_id: str, at: datetime
    ) -> Signal | None:
        oldest = (
            select(signals.c.id)
            .where(
                signals.c.execution_id == execution_id,
                signals.c.name == name,
                signals.c.consumed_by.is_(None),
            )
            .order_by(signals.c.created_at, signals.c.position)
            .limit(1)
            .with_for_update(skip_locked=True)
            .cte("oldest")
        )
        statement = (
            update(signals)
            .where(signals.c.id == oldest.c.id)
            .values(consumed_by=node_id, consumed_at=at)
            .returning(*signals.c)
        )
        row = await self._db.first(statement)
        return mappers.row_to_signal(row) if row else None

    async def search(self, execution_id: str) -> list[Signal]:
        statement = (
            select(signals)
            .where(signals.c.execution_id == execution_id)
            .order_by(signals.c.position)
        )
        return [mappers.row_to_signal(row) for row in await self._db.rows(statement)]
