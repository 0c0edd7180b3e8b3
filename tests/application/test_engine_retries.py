"""Node retries and timeouts: durable backoff on the fake clock, attempt limits,
non-retryable errors, and per-node start-to-close timeouts."""

from __future__ import annotations

from datetime import timedelta

from application.ports.executors import Failed, NodeCall, NodeResult
from domain.policies import NodeError
from tests.application.conftest import Gate, Harness, document, scripted

FLAKY = Failed(NodeError("http_503", "service unavailable", retryable=True))
RETRY = {"max_attempts": 3, "initial_interval": 10, "backoff_coefficient": 2}


async def test_a_failed_attempt_is_retried_after_exactly_its_backoff_and_never_before(
    harness: Harness,
) -> None:
    harness.executor.on("call", 1, FLAKY)
    harness.executor.on("call", 2, FLAKY)
    t0 = harness.clock.now()
    execution_id = await harness.run(document([scripted("call", retry=RETRY)]))

    assert harness.node(execution_id, "call").status.value == "retrying"
    assert harness.execution(execution_id).wake_at == t0 + timedelta(seconds=10)
    harness.clock.advance(9.999)
    assert await harness.drain() == 0
    assert harness.executor.attempts("call") == [1]

    harness.clock.advance(0.001)
    await harness.drain()
    assert harness.executor.attempts("call") == [1, 2]
    assert harness.executor.calls[-1].now == t0 + timedelta(seconds=10)

    harness.clock.advance(19.999)  # the second wait is twice as long
    assert await harness.drain() == 0
    harness.clock.advance(0.001)
    await harness.drain()

    assert harness.executor.attempts("call") == [1, 2, 3]
    assert harness.executor.calls[-1].now == t0 + timedelta(seconds=30)
    assert harness.status(execution_id) == "completed"
    assert harness.node(execution_id, "call").attempt == 3


async def test_attempts_never_exceed_max_attempts(harness: Harness) -> None:
    for attempt in range(1, 10):
        harness.executor.on("call", attempt, FLAKY)
    execution_id = await harness.run(document([scripted("call", retry=RETRY)]))

    await harness.settle()

    assert harness.executor.attempts("call") == [1, 2, 3]
    assert harness.status(execution_id) == "failed"
    run = harness.node(execution_id, "call")
    assert (run.status.value, run.attempt) == ("failed", 3)
    assert harness.types(execution_id, "call").count("node_retry_scheduled") == 2


async def test_a_non_retryable_error_fails_the_node_at_once(harness: Harness) -> None:
    harness.executor.on("call", 1, Failed(NodeError("http_404", "no such item", retryable=False)))
    execution_id = await harness.run(document([scripted("call", retry=RETRY)]))

    assert harness.status(execution_id) == "failed"
    assert harness.executor.attempts("call") == [1]
    assert "node_retry_scheduled" not in harness.types(execution_id)


async def test_an_error_kind_listed_as_non_retryable_fails_at_once(harness: Harness) -> None:
    harness.executor.on("call", 1, Failed(NodeError("auth", "bad token", retryable=True)))
    policy = {**RETRY, "non_retryable": ["auth"]}
    execution_id = await harness.run(document([scripted("call", retry=policy)]))

    assert harness.status(execution_id) == "failed"
    assert harness.executor.attempts("call") == [1]


async def test_an_attempt_that_outlives_its_node_timeout_fails_as_a_timeout_and_retries(
    harness: Harness,
) -> None:
    never_answers = Gate()
    harness.executor.on("slow", 1, never_answers)
    retry = {"max_attempts": 2, "initial_interval": 5}
    # Node timeouts are enforced on the event loop's time: keep this one tiny.
    execution_id = await harness.run(document([scripted("slow", timeout=0.05, retry=retry)]))

    run = harness.node(execution_id, "slow")
    assert run.status.value == "retrying"
    assert run.error is not None and run.error["kind"] == "timeout"
    assert never_answers.cancelled  # the body was told to stop

    await harness.settle()
    assert harness.status(execution_id) == "completed"
    assert harness.executor.attempts("slow") == [1, 2]


async def test_a_timeout_on_the_last_attempt_fails_the_execution(harness: Harness) -> None:
    async def hang(call: NodeCall) -> NodeResult:
        return await Gate()(call)

    harness.executor.on("slow", 1, hang)
    retry = {"max_attempts": 1}
    execution_id = await harness.run(document([scripted("slow", timeout=0.05, retry=retry)]))

    assert harness.status(execution_id) == "failed"
    error = harness.execution(execution_id).error
    assert error is not None and error["kind"] == "timeout"
