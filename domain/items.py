"""The bookkeeping of a `for_each` node's items, as pure rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def refill_due(state: Mapping[str, Any], active: int) -> bool:
    """Whether a parked `for_each` node should be woken now that `active` items still run.

    `state` is the node's `waiting_for["for_each"]` (`next`, `total`, `parallelism`).
    While items remain to start, it wakes once half its parallelism is free, so each wake
    starts a batch rather than one item; once every item has started, when the last ends.
    """
    if int(state["next"]) >= int(state["total"]):
        return active == 0
    return active <= int(state["parallelism"]) // 2
