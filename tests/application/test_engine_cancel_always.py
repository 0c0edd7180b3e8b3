"""A cancel always lands: it does not depend on the execution's step succeeding, nor on
writing all of its node runs at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.errors import StorageError
from application.ports.unit_of_work import EventBatch, FencedSave
from application.use_cases.cancel_execution import CancelExecution, CancelExecutionHandler
from domain.node_run import NodeRun
from tests.application.conftest import WORKSPACE, Harness, chain, document, node, scripted
from tests.application.step_failures import LEASE_SECONDS, breaking, failing_claim, transform

REFUSED = "number of parameters must be between 0 and 65535"


class RefusingNodeRunWrites(InMemoryUnitOfWork):
    """A unit of work whose node-run writes fail, as a statement over the driver's
    parameter limit did before writes were batched."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store)
        self.node_runs.save_for = self._refuse  # type: ignore[method-assign]
        self._save_with_history = self.executions.save_with_history
        self.executions.save_with_history = self._refuse_with_history  # type: ignore[method-assign]

    async def _refuse(self, runs: Mapping[str, Sequence[NodeRun]]) -> None:
        if any(runs.values()):
            raise StorageError(f"the database failed: {REFUSED}")

    async def _refuse_with_history(
        self,
        saves: Sequence[FencedSave],
        runs: Mapping[str, Sequence[NodeRun]],
        events: Sequence[EventBatch],
        at: datetime,
    ) -> None:
        await self._refuse(runs)
        await self._save_with_history(saves, runs, events, at)


def refusing_cancel(harness: Harness) -> CancelExecutionHandler:
    return CancelExecutionHandler(lambda: RefusingNodeRunWrites(harness.store), harness.clock)


async def test_a_cancel_whose_writes_fail_is_recorded_and_the_next_claim_closes(
    harness: Harness,
) -> None:
    doc = document(
        [node("pause", "delay", config={"seconds": 600}), scripted("after")],
        chain("pause", "after"),
    )
    execution_id = await harness.run(doc)
    assert harness.status(execution_id) == "waiting"

    answered = await refusing_cancel(harness)(CancelExecution(WORKSPACE, execution_id))

    assert answered.cancel_requested
    assert harness.status(execution_id) == "waiting"
    assert await harness.drain() == 1  # made due at once: no waiting for the timer
    assert harness.status(execution_id) == "cancelled"
    assert set(harness.node_statuses(execution_id).values()) == {"cancelled"}


async def test_a_cancel_ends_an_execution_whose_step_keeps_failing_without_the_step(
    harness: Harness,
) -> None:
    broken = breaking(harness, failures=100)
    doc = document([scripted("first"), transform("bad")], chain("first", "bad"))
    execution_id = await harness.start(await harness.create(doc))
    await failing_claim(harness)  # the first step committed; the one running `bad` failed
    assert harness.status(execution_id) == "running"

    cancel = harness.engine.cancel_execution()
    answered = await cancel(CancelExecution(WORKSPACE, execution_id))
    assert answered.cancel_requested
    harness.clock.advance(LEASE_SECONDS)
    await harness.drain()

    assert harness.status(execution_id) == "cancelled"
    assert broken.calls["bad"] == 1
    # The result of `first` came in the step that failed: it never landed.
    assert harness.node_statuses(execution_id) == {"first": "cancelled", "bad": "cancelled"}
