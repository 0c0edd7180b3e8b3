"""When a `for_each` item that ended wakes its parked parent."""

from __future__ import annotations

import pytest

from domain.items import refill_due


@pytest.mark.parametrize(
    ("next_item", "total", "parallelism", "active", "wakes"),
    [
        (40, 100, 10, 6, False),  # most still run: let more end first
        (40, 100, 10, 5, True),  # half the parallelism is free: start a batch
        (40, 100, 1, 0, True),  # one at a time: each end starts the next
        (100, 100, 10, 1, False),  # all started: wait for the last
        (100, 100, 10, 0, True),  # the last ended: the node can finish
    ],
)
def test_refill_due(next_item: int, total: int, parallelism: int, active: int, wakes: bool) -> None:
    state = {"next": next_item, "total": total, "parallelism": parallelism}
    assert refill_due(state, active) is wakes
