"""Steps that fail: an inline body that raises inside the step, and a claim that fails."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from dependency_injector import providers

from application.nodes.builtin import builtin_executors
from application.ports.executors import NodeCall, NodeResult, Succeeded
from domain.definition import NodeKind
from tests.application.conftest import SCRIPTED_KIND, Harness, node

LEASE_SECONDS = 31  # just past the worker's 30 s lease: the execution is claimable again


class BrokenInline:
    """An inline body (it runs inside the step) that raises its first `failures` times."""

    inline = True

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: Counter[str] = Counter()

    def decide(self, call: NodeCall) -> NodeResult:
        self.calls[call.node_id] += 1
        if self.calls[call.node_id] <= self.failures:
            raise RuntimeError(f"step bug #{self.calls[call.node_id]} in {call.node_id}")
        return Succeeded(output={"ok": call.node_id})

    async def run(self, call: NodeCall) -> NodeResult:
        return self.decide(call)


def breaking(harness: Harness, failures: int) -> BrokenInline:
    broken = BrokenInline(failures)
    registry = builtin_executors().with_executors(
        {SCRIPTED_KIND: harness.executor, NodeKind.TRANSFORM: broken}
    )
    harness.engine.executors.override(providers.Object(registry))
    return broken


def transform(node_id: str) -> dict[str, Any]:
    return node(node_id, "transform", config={"output": {"x": 1}})


async def failing_claim(harness: Harness) -> None:
    """One claim whose step raises; then the lease runs out."""
    with pytest.raises(RuntimeError, match="step bug"):
        await harness.drain()
    harness.clock.advance(LEASE_SECONDS)
