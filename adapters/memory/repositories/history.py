"""Node runs, event logs and signals, in memory."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapters.memory.repositories.base import Repo
from application.errors import Conflict
from application.ports.unit_of_work import EventBatch, SignalTake
from application.records import Signal, StoredEvent
from domain.events import DomainEvent
from domain.node_run import NodeRun


class MemoryNodeRuns(Repo):
    async def get_all(self, execution_id: str) -> dict[str, NodeRun]:
        return dict(self.store.node_runs.get(execution_id, {}))

    async def get_for(self, execution_ids: Sequence[str]) -> dict[str, dict[str, NodeRun]]:
        return {execution_id: await self.get_all(execution_id) for execution_id in execution_ids}

    async def waiting_for(self, execution_id: str, node_id: str) -> dict[str, Any] | None:
        run = self.store.node_runs.get(execution_id, {}).get(node_id)
        return run.waiting_for if run is not None else None

    async def save_many(self, execution_id: str, runs: Sequence[NodeRun]) -> None:
        table = dict(self.store.node_runs.get(execution_id, {}))
        table.update({run.node_id: run for run in runs})
        self.journal.set(self.store.node_runs, execution_id, table)

    async def save_for(self, runs: Mapping[str, Sequence[NodeRun]]) -> None:
        for execution_id, changed in runs.items():
            await self.save_many(execution_id, changed)


class MemoryEvents(Repo):
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


class MemorySignals(Repo):
    async def add(self, signal: Signal) -> None:
        self.journal.append(self.store.signals[signal.execution_id], signal)

    async def unconsumed(
        self, wanted: Mapping[str, Collection[str]], per_name: int
    ) -> dict[str, dict[str, list[Signal]]]:
        found: dict[str, dict[str, list[Signal]]] = {}
        for execution_id, names in wanted.items():
            for signal in self.store.signals.get(execution_id, []):
                if signal.name not in names or signal.consumed_by is not None:
                    continue
                oldest = found.setdefault(execution_id, {}).setdefault(signal.name, [])
                if len(oldest) < per_name:
                    oldest.append(signal)
        return found

    async def consume_many(self, takes: Sequence[SignalTake], at: datetime) -> None:
        wanted = {take.signal_id: take.node_id for take in takes}
        places = [
            (signals, index, signal)
            for signals in {id(s): s for s in self._signals_of(takes)}.values()
            for index, signal in enumerate(signals)
            if signal.id in wanted
        ]
        if len(places) < len(wanted) or any(s.consumed_by is not None for _, _, s in places):
            raise Conflict("a signal was already taken, or does not exist")
        for signals, index, signal in places:
            taken = replace(signal, consumed_by=wanted[signal.id], consumed_at=at)
            self.journal.replace_item(signals, index, taken)

    def _signals_of(self, takes: Sequence[SignalTake]) -> list[list[Signal]]:
        return [self.store.signals.get(take.execution_id, []) for take in takes]

    async def search(self, execution_id: str) -> list[Signal]:
        return list(self.store.signals.get(execution_id, []))
