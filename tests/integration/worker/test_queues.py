"""Queues with real worker processes: each worker claims only from the queues it was
started with (`TREADLE_QUEUES`, as `treadle worker --queues`), one started without claims
from every queue."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.worker.harness import Harness, eventually

pytestmark = [pytest.mark.e2e]


def one_step(**settings: Any) -> dict[str, Any]:
    return {"nodes": [{"id": "a", "kind": "noop"}], "edges": [], "settings": settings}


async def test_each_worker_runs_only_the_executions_of_its_queues(harness: Harness) -> None:
    ai_flow = await harness.create_workflow(one_step(queue="ai"))
    plain_flow = await harness.create_workflow(one_step())
    ai_worker, plain_worker = (
        harness.start_worker(TREADLE_QUEUES="ai"),
        harness.start_worker(TREADLE_QUEUES="default"),
    )
    await ai_worker.started()
    await plain_worker.started()
    ai_runs = [await harness.start_run(ai_flow, {"n": n}) for n in range(6)]
    plain_runs = [await harness.start_run(plain_flow, {"n": n}) for n in range(6)]
    for execution_id in ai_runs + plain_runs:
        await harness.status_becomes(execution_id, "completed")
    ai_log, plain_log = ai_worker.log(), plain_worker.log()
    assert all(run in ai_log and run not in plain_log for run in ai_runs)
    assert all(run in plain_log and run not in ai_log for run in plain_runs)


async def test_work_for_a_queue_nobody_serves_waits_for_a_worker_that_does(
    harness: Harness,
) -> None:
    private = await harness.create_workflow(one_step(queue="private.net"))
    await harness.start_workers(1, TREADLE_QUEUES="default,ai")
    execution_id = await harness.start_run(private)
    await harness.start_workers(1, TREADLE_QUEUES="elsewhere")
    # A run on each worker's queue, started after the private one and finished: each
    # worker has claimed since the private run was there to see, and passed it by.
    for queue in ("default", "ai", "elsewhere"):
        sentinel = await harness.start_run(await harness.create_workflow(one_step(queue=queue)))
        await harness.status_becomes(sentinel, "completed")
    waited = harness.execution(execution_id)
    assert (waited["status"], waited["queue"]) == ("pending", "private.net")
    everything = harness.start_worker(TREADLE_QUEUES=None)  # no queues: every queue
    await everything.started()
    await harness.status_becomes(execution_id, "completed")
    await eventually(lambda: execution_id in everything.log() or None, "the worker's log line")
