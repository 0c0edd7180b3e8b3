"""Wake routing: each work notification is designated to exactly one known member.

Every worker builds its own router from the same member slots it read from `pg_locks`;
these tests build one router per slot with the same members, as the workers would.
"""

from __future__ import annotations

from collections import Counter

import pytest

from adapters.clock import FakeClock
from adapters.postgres.wake_routing import MEMBERSHIP_CLASS, WakeRouter, new_slot

MEMBERS = (11, 2_000_000_000, 7, 123_456)
IDS = [f"execution-{number}" for number in range(2_000)]


def routers_for(members: tuple[int, ...]) -> list[WakeRouter]:
    """One router per member, each knowing the same members (in its own order)."""
    routers = []
    for slot in members:
        router = WakeRouter(slot, FakeClock())
        router.members_are(reversed(members))
        routers.append(router)
    return routers


def designated_slots(routers: list[WakeRouter], execution_id: object) -> list[int]:
    return [router.slot for router in routers if router.designated(execution_id)]


def test_every_execution_is_designated_to_exactly_one_member() -> None:
    routers = routers_for(MEMBERS)

    for execution_id in IDS:
        assert len(designated_slots(routers, execution_id)) == 1, execution_id


def test_the_members_share_the_executions_roughly_evenly() -> None:
    routers = routers_for(MEMBERS)

    shares = Counter(
        slot for execution_id in IDS for slot in designated_slots(routers, execution_id)
    )

    assert set(shares) == set(MEMBERS)
    for slot, count in shares.items():
        assert 0.15 * len(IDS) <= count <= 0.35 * len(IDS), (slot, count)


def test_the_order_and_repeats_of_the_member_slots_do_not_change_the_designation() -> None:
    listed = WakeRouter(MEMBERS[0], FakeClock())
    listed.members_are(MEMBERS)
    shuffled = WakeRouter(MEMBERS[0], FakeClock())
    shuffled.members_are([*reversed(MEMBERS), MEMBERS[1], MEMBERS[0]])

    assert [listed.designated(i) for i in IDS] == [shuffled.designated(i) for i in IDS]


def test_a_single_member_is_designated_for_everything() -> None:
    router = WakeRouter(5, FakeClock())
    router.members_are([5])

    assert all(router.designated(execution_id) for execution_id in IDS)


def test_a_router_whose_slot_is_not_a_member_is_designated_for_everything() -> None:
    outsider = WakeRouter(99, FakeClock())
    outsider.members_are(MEMBERS)

    assert all(outsider.designated(execution_id) for execution_id in IDS)


def test_a_router_that_knows_no_members_yet_is_designated_for_everything() -> None:
    router = WakeRouter(MEMBERS[0], FakeClock())

    assert all(router.designated(execution_id) for execution_id in IDS)


@pytest.mark.parametrize("execution_id", [None, 42, b"execution-1", ["execution-1"]])
def test_a_notification_without_a_string_execution_id_is_designated(
    execution_id: object,
) -> None:
    routers = routers_for(MEMBERS)

    assert designated_slots(routers, execution_id) == list(MEMBERS)


def test_members_are_read_again_only_once_the_refresh_interval_has_passed() -> None:
    router = WakeRouter(MEMBERS[0], FakeClock(), refresh_every=60.0)
    assert router.due_for_refresh()

    router.members_are(MEMBERS)

    assert not router.due_for_refresh()


def test_members_are_due_again_once_the_refresh_interval_has_passed() -> None:
    clock = FakeClock()
    router = WakeRouter(MEMBERS[0], clock, refresh_every=2.0)
    router.members_are(MEMBERS)

    clock.advance(1.9)
    assert not router.due_for_refresh()
    assert router.refresh_in() == pytest.approx(0.1)
    clock.advance(0.2)
    assert router.due_for_refresh()


def test_a_failed_reading_is_tried_again_after_the_usual_interval_as_a_first_reading() -> None:
    clock = FakeClock()
    router = WakeRouter(MEMBERS[0], clock, refresh_every=2.0)
    router.members_are(MEMBERS)

    router.refresh_failed()
    clock.advance(1.0)
    assert not router.due_for_refresh()
    clock.advance(1.0)
    assert router.due_for_refresh()
    assert router.members_are(MEMBERS)  # nobody knows who left while the view was stale


def test_the_membership_lock_key_is_the_class_and_the_slot() -> None:
    assert WakeRouter(31, FakeClock()).membership == (MEMBERSHIP_CLASS, 31)


def test_new_slots_fit_a_positive_int4_lock_key() -> None:
    slots = {new_slot() for _ in range(1_000)}

    assert all(1 <= slot <= 2**31 - 1 for slot in slots)
    assert len(slots) > 990  # random: two workers rarely pick the same slot
