"""Claim pacing: idle workers claim at once, busy ones space claims, lost races back off."""

from __future__ import annotations

import pytest

from adapters.clock import FakeClock
from application.claim_pacing import ClaimPacing, PacingSettings

SETTINGS = PacingSettings(claim_window=0.002, claim_backoff_max=0.02, timer_recheck_delay=0.02)


@pytest.fixture
def pacing() -> tuple[ClaimPacing, FakeClock]:
    clock = FakeClock()
    return ClaimPacing(SETTINGS, clock), clock


def test_an_idle_worker_claims_at_once(pacing: tuple[ClaimPacing, FakeClock]) -> None:
    pace, _ = pacing
    pace.claimed(asked=10, got=3, notified=True)
    assert pace.claim_delay(busy=False) == 0.0


def test_a_busy_worker_spaces_claims_by_the_window(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, clock = pacing
    pace.claimed(asked=10, got=3, notified=True)
    assert pace.claim_delay(busy=True) == pytest.approx(0.002)
    clock.advance(0.002)
    assert pace.claim_delay(busy=True) == 0.0


def test_lost_races_double_the_spacing_up_to_the_cap(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, _ = pacing
    delays = []
    for _ in range(6):
        pace.claimed(asked=10, got=0, notified=True)
        delays.append(round(pace.claim_delay(busy=False), 6))
    assert delays == [0.002, 0.004, 0.008, 0.016, 0.02, 0.02]


def test_a_spaced_claim_that_finds_one_run_keeps_sweeping_at_its_pace(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, _ = pacing
    pace.claimed(asked=10, got=0, notified=True)
    pace.claimed(asked=10, got=0, notified=True)
    pace.claimed(asked=10, got=1, notified=True)
    assert pace.claim_delay(busy=False) == pytest.approx(0.004)


def test_work_piled_up_behind_a_spaced_claim_makes_the_worker_answer_at_once(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, _ = pacing
    pace.claimed(asked=10, got=0, notified=True)
    pace.claimed(asked=10, got=2, notified=True)
    assert pace.claim_delay(busy=False) == 0.0


def test_a_claim_at_once_that_finds_work_keeps_answering_at_once(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, _ = pacing
    pace.claimed(asked=10, got=1, notified=True)
    assert pace.claim_delay(busy=False) == 0.0


def test_claims_not_caused_by_a_notification_say_nothing_about_races(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, _ = pacing
    pace.claimed(asked=10, got=0, notified=False)
    assert pace.claim_delay(busy=False) == 0.0
    assert pace.timer_remaining() is None


def test_a_short_notified_claim_schedules_a_wake_time_lookup_soon(
    pacing: tuple[ClaimPacing, FakeClock],
) -> None:
    pace, clock = pacing
    pace.timer_known(1.0)
    pace.claimed(asked=10, got=2, notified=True)
    assert pace.timer_remaining() == pytest.approx(0.02)
    clock.advance(0.02)
    assert pace.timer_remaining() is None  # due: the caller asks the database again
