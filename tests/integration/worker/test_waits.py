"""Waits run by real worker processes: signals sent before and after the wait, and a
delay that outlives the worker that started it."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.worker.harness import Harness

pytestmark = [pytest.mark.e2e]

TWO_SIGNALS: dict[str, Any] = {
    "nodes": [
        {"id": "early", "kind": "wait_for_signal", "config": {"signal": "early"}},
        {"id": "late", "kind": "wait_for_signal", "config": {"signal": "late"}},
        {
            "id": "done",
            "kind": "transform",
            "config": {
                "output": {
                    "early": "{{ nodes.early.output.payload }}",
                    "late": "{{ nodes.late.output.payload }}",
                }
            },
        },
    ],
    "edges": [{"from": "early", "to": "late"}, {"from": "late", "to": "done"}],
}


async def test_signals_sent_before_and_after_the_wait_reach_the_nodes(harness: Harness) -> None:
    execution_id = await harness.run(TWO_SIGNALS)
    await harness.deliver_signal(execution_id, "early", {"n": 1})
    await harness.start_workers()

    await harness.node_becomes(execution_id, "late", "waiting")
    await harness.deliver_signal(execution_id, "late", {"n": 2})
    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    runs = harness.node_runs(execution_id)
    assert runs["early"]["output"] == {"signal": "early", "payload": {"n": 1}}
    assert runs["late"]["output"] == {"signal": "late", "payload": {"n": 2}}
    assert runs["done"]["output"] == {"early": {"n": 1}, "late": {"n": 2}}
    order = [(event["type"], event["node_id"]) for event in harness.events(execution_id)]
    early_signal = order.index(("signal_received", None))
    assert early_signal < order.index(("node_started", "early"))
    late_signal = len(order) - 1 - order[::-1].index(("signal_received", None))
    assert order.index(("node_waiting", "late")) < late_signal


DELAYED: dict[str, Any] = {
    "nodes": [
        {"id": "pause", "kind": "delay", "config": {"seconds": 3}},
        {"id": "after", "kind": "transform", "config": {"output": {"woke": True}}},
    ],
    "edges": [{"from": "pause", "to": "after"}],
}


async def test_a_delay_survives_a_worker_restart_and_wakes_on_time(harness: Harness) -> None:
    (first,) = await harness.start_workers()
    execution_id = await harness.run(DELAYED)
    waiting = await harness.node_becomes(execution_id, "pause", "waiting")
    wake_at: datetime = waiting["wake_at"]

    first.send(signal.SIGTERM)
    assert await first.exited() == 0
    assert datetime.now(UTC) < wake_at, "the first worker must stop before the wake time"
    assert harness.execution(execution_id)["status"] == "waiting"
    await harness.start_workers()
    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    runs = harness.node_runs(execution_id)
    assert runs["after"]["started_at"] >= wake_at
    assert runs["pause"]["finished_at"] >= wake_at
    assert datetime.fromisoformat(runs["pause"]["output"]["waited_until"]) == wake_at
    assert wake_at - runs["pause"]["started_at"] >= timedelta(seconds=3)
