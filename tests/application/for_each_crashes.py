"""The for-each crash property, shared by the in-memory and the PostgreSQL suites: a parent
runs a one-node child once per item while workers crash at random port calls; whatever
the crashes, every item starts exactly once and the node's output is in item order."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import strategies as st

from application.use_cases.create_workflow import CreateWorkflow
from domain.execution import Execution
from domain.status import ExecutionStatus
from tests.application.conftest import WORKSPACE
from tests.application.engine_sim import Cluster
from tests.application.engine_strategies import Crash, Scenario
from tests.application.sim_ports import PortsFactory
from tests.support.for_each import fan_out

CHILD: dict[str, Any] = {
    "nodes": [{"id": "triple", "kind": "transform", "config": {"output": "{{ input.n * 3 }}"}}]
}


@st.composite
def for_each_scenarios(draw: st.DrawFn, max_items: int = 12) -> Scenario:
    """A parent over 0..max_items items, 1-3 workers, one or two of them crashing (when
    the fatal call comes before the worker is done)."""
    count = draw(st.integers(0, max_items))
    workers = draw(st.integers(1, 3))
    crashes = tuple(
        Crash(worker, draw(st.integers(1, 60)), draw(st.booleans()))
        for worker in sorted(draw(st.sets(st.integers(0, workers - 1), min_size=1, max_size=2)))
    )
    yields = tuple(draw(st.lists(st.integers(0, 2), min_size=1, max_size=4)))
    document = fan_out("child", parallelism=draw(st.integers(1, 4)))
    return Scenario(document, ({"run": 0, "count": count},), {}, {}, workers, crashes, yields)


async def run_with_crashes(ports: PortsFactory, scenario: Scenario) -> tuple[Cluster, Any]:
    """Run the scenario to its end; the parent's `each` output and its items."""
    cluster = Cluster(scenario, ports)
    await cluster.engine.create_workflow()(CreateWorkflow(WORKSPACE, "child", CHILD))
    await cluster.start()
    await cluster.drive()
    return cluster, await _outcome(cluster)


async def _outcome(cluster: Cluster) -> tuple[Execution, Any, list[Execution]]:
    [parent_id] = cluster.execution_ids
    async with cluster.ports.uow_factory() as uow:
        execution = await uow.executions.get(parent_id)
        runs = await uow.node_runs.get_all(parent_id)
        items = await uow.executions.search(WORKSPACE, parent_execution_id=parent_id, limit=1000)
    assert execution is not None
    return execution, runs["each"].output, items


def check_each_item_ran_once(scenario: Scenario, outcome: Any) -> None:
    execution, output, items = outcome
    count = scenario.inputs[0]["count"]
    assert execution.status is ExecutionStatus.COMPLETED, execution.error
    assert output == [{"triple": n * 3} for n in range(count)]
    indexes = Counter(item.parent.item_index for item in items)
    assert indexes == Counter(range(count)), "an item started twice, or never"
    assert all(item.status is ExecutionStatus.COMPLETED for item in items)
