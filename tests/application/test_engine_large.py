"""Large workflows: one over the node limit is refused at save, and a chain of inline nodes
is planned once per claim, not once per node, so a step costs time linear in the nodes it
changes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

import pytest

from application.engine import decision as progress
from domain.definition import WorkflowDefinition
from domain.errors import InvalidDefinition
from domain.node_run import NodeRun
from domain.planner import Plan
from domain.validation import MAX_NODES
from tests.application.conftest import Harness, document, edge, node

CHAIN_LENGTH = 300


class PlannerCalls:
    """Counts the planner's calls and the node runs it is handed, through the real planner."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[str] = Counter()
        self.changed_seen = 0
        whole, downstream = progress.plan, progress.plan_downstream

        def counting_plan(definition: WorkflowDefinition, runs: Mapping[str, NodeRun]) -> Plan:
            self.calls["whole"] += 1
            return whole(definition, runs)

        def counting_downstream(
            definition: WorkflowDefinition,
            runs: Mapping[str, NodeRun],
            changed: Iterable[str],
            order: Mapping[str, int],
        ) -> Plan:
            changed = list(changed)
            self.calls["downstream"] += 1
            self.changed_seen += len(changed)
            return downstream(definition, runs, changed, order)

        monkeypatch.setattr(progress, "plan", counting_plan)
        monkeypatch.setattr(progress, "plan_downstream", counting_downstream)


def noop_chain(length: int) -> dict[str, Any]:
    ids = [f"n{index}" for index in range(length)]
    return document([node(node_id) for node_id in ids], [edge(a, b) for a, b in pairwise(ids)])


async def test_a_chain_is_planned_whole_once_and_then_node_by_node(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = PlannerCalls(monkeypatch)

    execution_id = await harness.run(noop_chain(CHAIN_LENGTH))

    assert harness.status(execution_id) == "completed"
    assert planner.calls["whole"] == 1
    # Each later round is handed the few runs the round before changed, not the graph.
    assert planner.calls["downstream"] == CHAIN_LENGTH
    assert planner.changed_seen <= 4 * CHAIN_LENGTH


async def test_a_chain_longer_than_a_steps_rounds_finishes_over_several_steps(
    harness: Harness,
) -> None:
    length = progress.MAX_INLINE_ROUNDS + 5
    execution_id = await harness.run(noop_chain(length))
    assert harness.status(execution_id) == "completed"
    assert set(harness.node_statuses(execution_id).values()) == {"succeeded"}


async def test_a_workflow_over_the_node_limit_is_refused_and_nothing_is_stored(
    harness: Harness,
) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        await harness.create(noop_chain(MAX_NODES + 1))
    assert [(p.code, p.path) for p in refused.value.problems] == [("too_many_nodes", "nodes")]
    assert harness.store.workflows == {}
