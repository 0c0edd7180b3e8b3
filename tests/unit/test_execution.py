"""The execution state machine: each pure transition's resulting fields and exact events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import execution as ex
from domain.errors import IllegalTransition
from domain.events import DomainEvent, EventType
from domain.execution import Execution
from domain.status import ExecutionStatus as E

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = T0 + timedelta(seconds=30)
T2 = T1 + timedelta(seconds=30)


def pending(**changes: Any) -> Execution:
    base = Execution(
        id="exec-1",
        workspace_id="ws",
        workflow_id="wf",
        version=1,
        status=E.PENDING,
        input={"x": 1},
        created_at=T0,
    )
    return replace(base, **changes)


def running() -> Execution:
    return ex.claim(pending(), T0)[0]


def test_first_claim_starts_the_execution() -> None:
    new, events = ex.claim(pending(wake_at=T1), T1)
    assert (new.status, new.started_at, new.wake_at) == (E.RUNNING, T1, None)
    assert events == [DomainEvent(EventType.EXECUTION_STARTED)]


def test_a_later_claim_resumes_and_keeps_the_first_start_time() -> None:
    waiting = replace(running(), status=E.WAITING, wake_at=T1)
    new, events = ex.claim(waiting, T2)
    assert (new.status, new.started_at, new.wake_at) == (E.RUNNING, T0, None)
    assert events == [DomainEvent(EventType.EXECUTION_RESUMED)]


def test_claim_after_release_resumes() -> None:
    released, _ = ex.release(running())
    _, events = ex.claim(released, T1)
    assert events == [DomainEvent(EventType.EXECUTION_RESUMED)]


def test_park_with_a_wake_time() -> None:
    new, events = ex.park(running(), T2)
    assert (new.status, new.wake_at) == (E.WAITING, T2)
    assert events == [DomainEvent(EventType.EXECUTION_WAITING, payload={"wake_at": T2.isoformat()})]


def test_park_without_a_wake_time_waits_for_a_signal_or_child() -> None:
    new, events = ex.park(running(), None)
    assert (new.status, new.wake_at) == (E.WAITING, None)
    assert events == [DomainEvent(EventType.EXECUTION_WAITING, payload={})]


def test_release_hands_the_execution_back() -> None:
    new, events = ex.release(replace(running(), wake_at=T1))
    assert (new.status, new.wake_at) == (E.PENDING, None)
    assert events == [DomainEvent(EventType.EXECUTION_RELEASED)]


def test_complete_stores_the_output() -> None:
    new, events = ex.complete(running(), T1, {"sink": 42})
    assert (new.status, new.output, new.finished_at, new.error) == (
        E.COMPLETED,
        {"sink": 42},
        T1,
        None,
    )
    assert events == [DomainEvent(EventType.EXECUTION_COMPLETED)]


def test_fail_stores_the_error() -> None:
    error = {"kind": "network", "message": "down", "node_id": "fetch"}
    new, events = ex.fail(running(), T1, error)
    assert (new.status, new.error, new.finished_at) == (E.FAILED, error, T1)
    assert events == [DomainEvent(EventType.EXECUTION_FAILED, payload={"error": error})]


@pytest.mark.parametrize("status", [E.PENDING, E.RUNNING, E.WAITING])
def test_cancel_from_any_unfinished_status(status: E) -> None:
    new, events = ex.cancel(replace(running(), status=status, wake_at=T1), T2)
    assert (new.status, new.finished_at, new.wake_at) == (E.CANCELLED, T2, None)
    assert events == [DomainEvent(EventType.EXECUTION_CANCELLED)]


def test_time_out_records_an_execution_timeout_error() -> None:
    new, events = ex.time_out(replace(running(), status=E.WAITING), T2)
    assert new.status is E.TIMED_OUT
    assert new.finished_at == T2
    assert new.error is not None and new.error["kind"] == "execution_timeout"
    assert events == [DomainEvent(EventType.EXECUTION_TIMED_OUT)]


def test_request_cancel_only_marks_a_running_execution() -> None:
    run = running()
    new, events = ex.request_cancel(run, T2)
    assert new == replace(run, cancel_requested=True)
    assert events == [DomainEvent(EventType.EXECUTION_CANCEL_REQUESTED)]


def parked() -> Execution:
    return ex.park(running(), T2 + timedelta(hours=1))[0]


def test_request_cancel_makes_a_parked_execution_due() -> None:
    new, _ = ex.request_cancel(parked(), T2)
    assert (new.cancel_requested, new.wake_at, new.status) == (True, T2, E.WAITING)


def test_a_signal_makes_a_parked_execution_due_and_leaves_a_running_one_be() -> None:
    new, events = ex.signal_arrived(parked(), T2, signal_id="sig_1", name="go")
    assert new.wake_at == T2
    assert events == [
        DomainEvent(EventType.SIGNAL_RECEIVED, payload={"name": "go", "signal_id": "sig_1"})
    ]
    assert ex.signal_arrived(running(), T2, signal_id="s", name="go")[0] == running()


def test_a_finished_child_makes_its_parked_parent_due() -> None:
    new, events = ex.child_finished(
        parked(), T2, node_id="child", child_id="ex_2", status=E.COMPLETED
    )
    assert new.wake_at == T2
    assert events[0].node_id == "child"
    assert events[0].payload == {"child_execution_id": "ex_2", "status": "completed"}


@pytest.mark.parametrize("finish", ["fail", "time_out"])
def test_reopen_clears_the_result_of_a_failed_or_timed_out_execution(finish: str) -> None:
    run = replace(running(), cancel_requested=True)
    if finish == "fail":
        finished, _ = ex.fail(run, T1, {"kind": "boom"})
    else:
        finished, _ = ex.time_out(run, T1)
    new, events = ex.reopen(finished)
    assert new.status is E.PENDING
    assert (new.error, new.output, new.finished_at, new.wake_at) == (None, None, None, None)
    assert new.cancel_requested is False
    assert new.started_at == T0
    assert events == [DomainEvent(EventType.EXECUTION_RETRIED)]


def test_execution_events_carry_no_node() -> None:
    _, events = ex.complete(running(), T1, None)
    assert (events[0].node_id, events[0].attempt) == (None, None)


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (E.COMPLETED, lambda e: ex.claim(e, T1)),
        (E.COMPLETED, ex.reopen),
        (E.PENDING, lambda e: ex.complete(e, T1, None)),
        (E.WAITING, ex.release),
        (E.FAILED, lambda e: ex.cancel(e, T1)),
    ],
    ids=[
        "claim-completed",
        "reopen-completed",
        "complete-pending",
        "release-waiting",
        "cancel-failed",
    ],
)
def test_illegal_execution_moves_raise(status: E, move: Callable[[Execution], object]) -> None:
    with pytest.raises(IllegalTransition, match=repr(status.value)):
        move(replace(running(), status=status))
