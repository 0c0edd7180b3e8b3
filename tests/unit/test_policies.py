"""Retry and timeout policies: backoff, jitter, retry decisions and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.policies import (
    NO_RETRY,
    GiveUp,
    NodeError,
    RetryAfter,
    RetryPolicy,
    execution_deadline,
    is_past,
    node_deadline,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
NETWORK = NodeError(kind="network", message="connection reset")
NOT_FOUND = NodeError(kind="http_4xx", message="not found", retryable=False)


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def test_default_policy_values() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert policy.initial_interval == timedelta(seconds=1)
    assert policy.backoff_coefficient == 2.0
    assert policy.max_interval == timedelta(seconds=60)
    assert policy.jitter == 0.0
    assert policy.non_retryable == frozenset()


def test_default_backoff_doubles_from_one_second_up_to_the_cap() -> None:
    waits = [seconds(RetryPolicy().backoff(attempt)) for attempt in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_backoff_follows_initial_interval_and_coefficient() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=0.5),
        backoff_coefficient=3.0,
        max_interval=timedelta(seconds=10),
    )
    assert [seconds(policy.backoff(n)) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, 10]


def test_a_coefficient_of_one_keeps_a_constant_wait() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=1.0)
    assert {seconds(policy.backoff(n)) for n in range(1, 20)} == {5}


def test_huge_attempt_numbers_stay_capped() -> None:
    policy = RetryPolicy(backoff_coefficient=4.0)
    assert policy.backoff(100_000) == timedelta(seconds=60)


@pytest.mark.parametrize("rng_value", [0.0, 0.25, 0.5, 0.99, 1.0])
def test_jitter_shaves_at_most_its_fraction(rng_value: float) -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=8), jitter=0.25)
    wait = seconds(policy.backoff(1, rng_value))
    assert 8 * 0.75 <= wait <= 8
    assert wait == pytest.approx(8 * (1 - 0.25 * rng_value))


@pytest.mark.parametrize("rng_value", [-5.0, -0.1, 1.1, 7.0])
def test_out_of_range_random_values_never_lengthen_or_overshave(rng_value: float) -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=8), jitter=0.5)
    wait = seconds(policy.backoff(1, rng_value))
    assert 4 <= wait <= 8


def test_full_jitter_may_shave_the_whole_wait_but_never_goes_negative() -> None:
    policy = RetryPolicy(jitter=1.0)
    assert policy.backoff(3, 1.0) == timedelta(0)
    assert policy.backoff(3, 0.0) == timedelta(seconds=4)


def test_jitter_applies_after_the_cap() -> None:
    policy = RetryPolicy(max_interval=timedelta(seconds=10), jitter=0.5)
    assert policy.backoff(20, 1.0) == timedelta(seconds=5)


def test_decide_retries_after_the_backoff_until_attempts_run_out() -> None:
    policy = RetryPolicy()
    assert policy.decide(1, NETWORK) == RetryAfter(timedelta(seconds=1))
    assert policy.decide(2, NETWORK) == RetryAfter(timedelta(seconds=2))
    assert policy.decide(3, NETWORK) == GiveUp("attempts_exhausted")
    assert policy.decide(4, NETWORK) == GiveUp("attempts_exhausted")


def test_decide_passes_the_random_value_to_the_backoff() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=10), jitter=0.5)
    assert policy.decide(1, NETWORK, rng_value=1.0) == RetryAfter(timedelta(seconds=5))


def test_a_single_attempt_policy_never_retries() -> None:
    assert NO_RETRY.decide(1, NETWORK) == GiveUp("attempts_exhausted")


def test_non_retryable_errors_give_up_at_once() -> None:
    assert RetryPolicy(max_attempts=10).decide(1, NOT_FOUND) == GiveUp("non_retryable")


def test_error_kinds_listed_as_non_retryable_give_up_at_once() -> None:
    policy = RetryPolicy(max_attempts=10, non_retryable=frozenset({"network"}))
    assert policy.decide(1, NETWORK) == GiveUp("non_retryable")
    other = NodeError(kind="timeout", message="too slow")
    assert policy.decide(1, other) == RetryAfter(timedelta(seconds=1))


def test_non_retryable_wins_over_exhausted_attempts() -> None:
    assert RetryPolicy(max_attempts=1).decide(1, NOT_FOUND) == GiveUp("non_retryable")


def test_node_error_round_trips_through_a_dict() -> None:
    error = NodeError(kind="http_5xx", message="bad gateway", details={"status": 502})
    assert error.as_dict() == {
        "kind": "http_5xx",
        "message": "bad gateway",
        "retryable": True,
        "details": {"status": 502},
    }
    assert NodeError.from_dict(error.as_dict()) == error
    assert "details" not in NETWORK.as_dict()


def test_node_error_from_a_sparse_dict_uses_defaults() -> None:
    assert NodeError.from_dict({}) == NodeError(kind="error", message="", retryable=True)


def test_node_deadline_is_start_plus_timeout() -> None:
    assert node_deadline(NOW, timedelta(seconds=30)) == NOW + timedelta(seconds=30)
    assert node_deadline(NOW, None) is None


def test_execution_deadline_is_creation_plus_timeout() -> None:
    assert execution_deadline(NOW, timedelta(hours=1)) == NOW + timedelta(hours=1)
    assert execution_deadline(NOW, None) is None


def test_is_past_counts_the_deadline_instant_as_past() -> None:
    deadline = NOW + timedelta(seconds=5)
    assert not is_past(deadline, NOW)
    assert not is_past(deadline, deadline - timedelta(microseconds=1))
    assert is_past(deadline, deadline)
    assert is_past(deadline, deadline + timedelta(days=1))
    assert not is_past(None, NOW + timedelta(days=10_000))


def test_a_retry_waits_at_least_what_the_server_asked_for() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), max_interval=timedelta(seconds=60))
    asked = NodeError("http_status", "slow down", True, {"retry_after_seconds": 30})
    decision = policy.decide(1, asked)
    assert isinstance(decision, RetryAfter)
    assert decision.delay == timedelta(seconds=30)


def test_what_the_server_asks_is_capped_by_the_longest_wait_and_never_shortens_it() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=8), max_interval=timedelta(seconds=60))
    too_long = NodeError("http_status", "later", True, {"retry_after_seconds": 3600})
    too_short = NodeError("http_status", "soon", True, {"retry_after_seconds": 1})
    nonsense = NodeError("http_status", "?", True, {"retry_after_seconds": "soon"})
    assert policy.decide(1, too_long) == RetryAfter(timedelta(seconds=60))
    assert policy.decide(1, too_short) == RetryAfter(timedelta(seconds=8))
    assert policy.decide(1, nonsense) == RetryAfter(timedelta(seconds=8))
