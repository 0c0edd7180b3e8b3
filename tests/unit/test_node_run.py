"""The node-run state machine: each pure transition's resulting fields and exact events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import node_run as nr
from domain.errors import IllegalTransition
from domain.events import DomainEvent, EventType
from domain.node_run import NodeRun
from domain.policies import NodeError
from domain.status import NodeStatus as N

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = T0 + timedelta(seconds=7)
BOOM = NodeError(kind="network", message="connection reset", retryable=True)
DETAILED = NodeError(kind="http_4xx", message="not found", retryable=False, details={"status": 404})


def running(attempt: int = 1, **changes: Any) -> NodeRun:
    return replace(NodeRun("fetch"), status=N.RUNNING, attempt=attempt, started_at=T0, **changes)


def test_a_new_node_run_is_pending_with_no_attempt() -> None:
    run = NodeRun("fetch")
    assert (run.status, run.attempt, run.output, run.error) == (N.PENDING, 0, None, None)


def test_make_ready_clears_wake_at_and_emits_node_ready() -> None:
    retrying = replace(NodeRun("fetch"), status=N.RETRYING, attempt=2, wake_at=T1)
    new, events = nr.make_ready(retrying)
    assert (new.status, new.attempt, new.wake_at) == (N.READY, 2, None)
    assert events == [DomainEvent(EventType.NODE_READY, node_id="fetch", attempt=2)]


def test_make_ready_of_a_fresh_run_has_no_attempt_in_its_event() -> None:
    _, events = nr.make_ready(NodeRun("fetch"))
    assert events == [DomainEvent(EventType.NODE_READY, node_id="fetch", attempt=None)]


def test_start_attempt_increments_the_attempt_and_records_the_start() -> None:
    ready = replace(
        NodeRun("fetch"), status=N.READY, attempt=1, error=BOOM.as_dict(), finished_at=T0
    )
    new, events = nr.start_attempt(ready, T1, rendered_input={"url": "u"})
    assert new.status is N.RUNNING
    assert new.attempt == 2
    assert new.started_at == T1
    assert new.finished_at is None
    assert new.input == {"url": "u"}
    assert new.error is None
    assert events == [DomainEvent(EventType.NODE_STARTED, node_id="fetch", attempt=2)]


def test_start_attempt_of_a_pending_run_is_illegal() -> None:
    with pytest.raises(IllegalTransition, match=r"'pending'.*'running'"):
        nr.start_attempt(NodeRun("fetch"), T0)


def test_interrupt_returns_the_attempt_so_the_rerun_has_the_same_number() -> None:
    run = running(attempt=3)
    interrupted, events = nr.interrupt(run, reason="lease_lost")
    assert interrupted.status is N.READY
    assert interrupted.started_at is None
    assert events == [
        DomainEvent(
            EventType.NODE_INTERRUPTED,
            node_id="fetch",
            attempt=3,
            payload={"reason": "lease_lost"},
        )
    ]
    rerun, _ = nr.start_attempt(interrupted, T1)
    assert rerun.attempt == 3


def test_succeed_stores_output_and_label() -> None:
    run = running(wake_at=T1, waiting_for={"signal": "go"})
    new, events = nr.succeed(run, T1, output={"n": 1}, label="yes")
    assert new.status is N.SUCCEEDED
    assert (new.output, new.label, new.finished_at) == ({"n": 1}, "yes", T1)
    assert (new.wake_at, new.waiting_for) == (None, None)
    assert new.attempt == 1
    assert events == [
        DomainEvent(EventType.NODE_SUCCEEDED, node_id="fetch", attempt=1, payload={"label": "yes"})
    ]


def test_succeed_without_label_has_an_empty_payload() -> None:
    new, events = nr.succeed(running(), T1, output=[1, 2])
    assert (new.output, new.label) == ([1, 2], None)
    assert events == [DomainEvent(EventType.NODE_SUCCEEDED, node_id="fetch", attempt=1)]


def test_a_waiting_node_can_succeed() -> None:
    waiting = replace(running(), status=N.WAITING, waiting_for={"signal": "go"})
    new, _ = nr.succeed(waiting, T1, output="signal body")
    assert (new.status, new.output, new.waiting_for) == (N.SUCCEEDED, "signal body", None)


def test_fail_stores_the_error_and_clears_the_label() -> None:
    run = running(attempt=2, label="stale")
    new, events = nr.fail(run, T1, DETAILED)
    expected_error = {
        "kind": "http_4xx",
        "message": "not found",
        "retryable": False,
        "details": {"status": 404},
    }
    assert new.status is N.FAILED
    assert (new.error, new.finished_at, new.label) == (expected_error, T1, None)
    assert events == [
        DomainEvent(
            EventType.NODE_FAILED, node_id="fetch", attempt=2, payload={"error": expected_error}
        )
    ]


def test_schedule_retry_stores_wake_at_and_error() -> None:
    wake = T1 + timedelta(seconds=2)
    new, events = nr.schedule_retry(running(attempt=1), T1, BOOM, wake)
    assert new.status is N.RETRYING
    assert (new.wake_at, new.error, new.finished_at) == (wake, BOOM.as_dict(), T1)
    assert new.attempt == 1
    assert events == [
        DomainEvent(
            EventType.NODE_RETRY_SCHEDULED,
            node_id="fetch",
            attempt=1,
            payload={"error": BOOM.as_dict(), "wake_at": wake.isoformat()},
        )
    ]


def test_wait_stores_waiting_for_and_wake_at() -> None:
    new, events = nr.wait(running(), T1, {"signal": "approve"})
    assert new.status is N.WAITING
    assert (new.wake_at, new.waiting_for) == (T1, {"signal": "approve"})
    assert events == [
        DomainEvent(
            EventType.NODE_WAITING,
            node_id="fetch",
            attempt=1,
            payload={"signal": "approve", "wake_at": T1.isoformat()},
        )
    ]


def test_wait_without_a_wake_time_leaves_it_out_of_the_payload() -> None:
    new, events = nr.wait(running(), None, {"child": "exec-9"})
    assert (new.wake_at, new.waiting_for) == (None, {"child": "exec-9"})
    assert events[0].payload == {"child": "exec-9"}


def test_wait_accepts_any_waiting_for_keys() -> None:
    new, events = nr.wait(running(), None, {"kind": "child", "child": "exec-9"})
    assert new.waiting_for == {"kind": "child", "child": "exec-9"}
    assert events[0].payload == {"kind": "child", "child": "exec-9"}


def test_skip_records_the_reason() -> None:
    new, events = nr.skip(NodeRun("join"), "upstream_failed")
    assert (new.status, new.skip_reason) == (N.SKIPPED, "upstream_failed")
    assert events == [
        DomainEvent(
            EventType.NODE_SKIPPED,
            node_id="join",
            attempt=None,
            payload={"reason": "upstream_failed"},
        )
    ]


def test_cancel_finishes_the_run_and_clears_waits() -> None:
    waiting = replace(running(), status=N.WAITING, wake_at=T1, waiting_for={"signal": "go"})
    new, events = nr.cancel(waiting, T1)
    assert (new.status, new.finished_at, new.wake_at, new.waiting_for) == (
        N.CANCELLED,
        T1,
        None,
        None,
    )
    assert events == [DomainEvent(EventType.NODE_CANCELLED, node_id="fetch", attempt=1)]


@pytest.mark.parametrize("final", [N.FAILED, N.SKIPPED, N.CANCELLED])
def test_reset_clears_every_result(final: N) -> None:
    finished = replace(
        NodeRun("fetch"),
        status=final,
        attempt=3,
        input={"x": 1},
        output={"y": 2},
        error=BOOM.as_dict(),
        label="no",
        started_at=T0,
        finished_at=T1,
        wake_at=T1,
        waiting_for={"signal": "go"},
        skip_reason="upstream_failed",
    )
    new, events = nr.reset(finished)
    # The rendered input is re-rendered by the next start, so only the results must go.
    assert replace(new, input=None) == NodeRun("fetch")
    assert events == [DomainEvent(EventType.NODE_RESET, node_id="fetch", attempt=None)]


def test_reset_of_a_succeeded_node_is_illegal() -> None:
    done = replace(NodeRun("fetch"), status=N.SUCCEEDED, attempt=1, output=1)
    with pytest.raises(IllegalTransition, match=r"'succeeded'.*'pending'"):
        nr.reset(done)


def test_transitions_never_mutate_their_input() -> None:
    run = running()
    before = replace(run)
    nr.succeed(run, T1, output=1)
    nr.fail(run, T1, BOOM)
    assert run == before
