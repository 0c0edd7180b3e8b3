"""Admitting a batch's newly opened executions under their workflows' limits.

The keys every member will touch (the slots the opening ones take, the slots the running
ones may hand on as they end, the rate windows) are locked first, all at once and in one
order, so two batches on the same keys wait for each other instead of deadlocking; then
each opening execution takes its slot and its place in the rate window, or is deferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.engine.changes import Held
from application.engine.decision import Advance, Defer, GiveUpOn, Request
from application.flow_control import Deferred, FlowKeyError, FlowKeys, admit, keys_of
from application.ports.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Admit:
    """Open the execution under its workflow's limits: `admit_batch` decides how."""


async def admit_batch(
    uow: UnitOfWork, opening: Sequence[Held], holding: Sequence[Held], now: datetime
) -> list[Request]:
    """The first request of each execution in `opening` (under limits, holding no slot):
    `Advance` once it took its places (its held copy then holds the slot), `Defer` to wait
    for them, `GiveUpOn` when a key does not evaluate. `holding` are the batch's other
    members that hold a slot: their keys are locked too, as they may end in this step."""
    keyed: list[tuple[Held, FlowKeys | str]] = []
    for held in opening:
        try:
            keyed.append((held, keys_of(held.definition, held.execution)))
        except FlowKeyError as error:
            keyed.append((held, str(error)))
    slots = {(h.execution.workflow_id, h.execution.flow_key or "") for h in holding}
    rates = set()
    for held, keys in keyed:
        if isinstance(keys, FlowKeys) and keys.slot is not None:
            slots.add((held.execution.workflow_id, keys.slot))
        if isinstance(keys, FlowKeys) and keys.rate is not None:
            rates.add((held.execution.workflow_id, keys.rate))
    await uow.flow.lock_keys(sorted(slots), sorted(rates))
    return [await _first_request(uow, held, keys, now) for held, keys in keyed]


async def _first_request(
    uow: UnitOfWork, held: Held, keys: FlowKeys | str, now: datetime
) -> Request:
    if isinstance(keys, str):
        message = f"a flow control key did not evaluate on the input: {keys}"
        return GiveUpOn({"kind": "invalid_flow_key", "message": message})
    admitted = await admit(uow, held.execution, held.definition, keys, now)
    if isinstance(admitted, Deferred):
        return Defer(admitted.wake_at, admitted.reason, admitted.flow_key)
    held.execution = admitted
    return Advance(opening=True)
