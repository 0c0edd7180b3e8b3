"""An execution's node runs, event log and signals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres import hot_sql, mappers
from adapters.postgres.database import Db
from adapters.postgres.repositories.batches import in_batches
from adapters.postgres.tables import events, signals
from application.errors import Conflict
from application.ports.unit_of_work import EventBatch, SignalTake
from application.records import Signal, StoredEvent
from domain.events import DomainEvent
from domain.node_run import NodeRun

# Node runs are inserted with their execution, in definition order; a run saved later for
# a node the execution did not start with sorts after them.
_LATE_NODE_POSITION = 1_000_000


def node_run_rows(runs: Mapping[str, Sequence[NodeRun]]) -> list[dict[str, Any]]:
    """The rows of changed node runs, by execution id (a node the execution did not start
    with sorts after the others)."""
    return [
        mappers.node_run_to_row(execution_id, run, _LATE_NODE_POSITION + offset)
        for execution_id, changed in runs.items()
        for offset, run in enumerate(changed)
    ]


def event_rows(batches: Sequence[EventBatch], at: datetime) -> list[dict[str, Any]]:
    """The rows of events, numbered on from each batch's `first_seq`."""
    return [
        mappers.event_to_row(batch.execution_id, batch.first_seq + offset, event, at)
        for batch in batches
        for offset, event in enumerate(batch.events)
    ]


_WAITING_FOR = (
    "SELECT waiting_for FROM node_runs"
    " WHERE execution_id = %(execution_id)s AND node_id = %(node_id)s"
)


class PostgresNodeRuns:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def get_all(self, execution_id: str) -> dict[str, NodeRun]:
        rows = await self._db.fetch(hot_sql.GET_NODE_RUNS, {"execution_id": execution_id})
        runs = [mappers.row_to_node_run(row) for row in rows]
        return {run.node_id: run for run in runs}

    async def waiting_for(self, execution_id: str, node_id: str) -> dict[str, Any] | None:
        params = {"execution_id": execution_id, "node_id": node_id}
        rows = await self._db.fetch(_WAITING_FOR, params)
        return rows[0]["waiting_for"] if rows else None

    async def get_for(self, execution_ids: Sequence[str]) -> dict[str, dict[str, NodeRun]]:
        found: dict[str, dict[str, NodeRun]] = {execution_id: {} for execution_id in execution_ids}
        if not execution_ids:
            return found
        params = {"execution_ids": list(execution_ids)}
        for row in await self._db.fetch(hot_sql.GET_NODE_RUNS_OF_MANY, params):
            run = mappers.row_to_node_run(row)
            found[row["execution_id"]][run.node_id] = run
        return found

    async def save_many(self, execution_id: str, runs: Sequence[NodeRun]) -> None:
        await self.save_for({execution_id: runs})

    async def save_for(self, runs: Mapping[str, Sequence[NodeRun]]) -> None:
        rows = node_run_rows(runs)
        for part in in_batches(rows, 1):
            await self._db.fetch(hot_sql.UPSERT_NODE_RUNS, {"rows": hot_sql.json_rows(part)})


class PostgresEvents:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def append(
        self, execution_id: str, first_seq: int, events_: Sequence[DomainEvent], at: datetime
    ) -> None:
        await self.append_many([EventBatch(execution_id, first_seq, events_)], at)

    async def append_many(self, batches: Sequence[EventBatch], at: datetime) -> None:
        rows = event_rows(batches, at)
        found = []
        for part in in_batches(rows, 1):
            found += await self._db.fetch(hot_sql.INSERT_EVENTS, {"rows": hot_sql.json_rows(part)})
        if len(found) != len(rows):
            # Take back the part that landed, so the transaction is as it was before.
            landed = [(row["execution_id"], row["seq"]) for row in found]
            key = tuple_(events.c.execution_id, events.c.seq)
            for keys in in_batches(landed, 2):
                await self._db.execute(delete(events).where(key.in_(keys)))
            refused = Counter((row["execution_id"], row["seq"]) for row in rows)
            refused.subtract(landed)
            execution_id, seq = next(key for key, count in refused.items() if count > 0)
            raise Conflict(f"event {seq} of {execution_id} is out of sequence")

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

    async def unconsumed(
        self, wanted: Mapping[str, Collection[str]], per_name: int
    ) -> dict[str, dict[str, list[Signal]]]:
        pairs = [(execution_id, name) for execution_id, names in wanted.items() for name in names]
        if not pairs:
            return {}
        params = {
            "execution_ids": [execution_id for execution_id, _ in pairs],
            "names": [name for _, name in pairs],
            "per_name": per_name,
        }
        found: dict[str, dict[str, list[Signal]]] = {}
        for row in await self._db.fetch(hot_sql.UNCONSUMED_SIGNALS, params):
            signal = mappers.row_to_signal(row)
            found.setdefault(signal.execution_id, {}).setdefault(signal.name, []).append(signal)
        return found

    async def consume_many(self, takes: Sequence[SignalTake], at: datetime) -> None:
        if not takes:
            return
        params = {
            "ids": [take.signal_id for take in takes],
            "node_ids": [take.node_id for take in takes],
            "at": at,
        }
        taken = await self._db.fetch(hot_sql.CONSUME_SIGNALS, params)
        if len(taken) != len({take.signal_id for take in takes}):
            raise Conflict("a signal was already taken, or does not exist")

    async def search(self, execution_id: str) -> list[Signal]:
        statement = (
            select(signals)
            .where(signals.c.execution_id == execution_id)
            .order_by(signals.c.position)
        )
        return [mappers.row_to_signal(row) for row in await self._db.rows(statement)]
