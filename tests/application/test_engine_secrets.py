"""Secrets reach templates and condition expressions, and never what is stored."""

from __future__ import annotations

import pytest

from domain.errors import InvalidDefinition
from tests.application.conftest import Harness, build_harness, document, edge, node

SECRET = "gold-plan-7f3a"


async def with_secret() -> Harness:
    harness = build_harness()
    await harness.put_secret("PLAN", SECRET)
    return harness


@pytest.mark.parametrize(
    "expression", [f"secrets.PLAN == '{SECRET}'", f"{{{{ secrets.PLAN == '{SECRET}' }}}}"]
)
async def test_a_condition_expression_can_read_a_secret(expression: str) -> None:
    # A condition may be written bare or inside one `{{ }}`; either way its secret loads.
    harness = await with_secret()
    cases = [{"when": "gold", "if": expression}]
    doc = document(
        [
            node("plan", "condition", config={"cases": cases, "default": "other"}),
            node("gold"),
            node("other"),
        ],
        [edge("plan", "gold", "gold"), edge("plan", "other", "other")],
    )
    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "completed"
    assert harness.node_statuses(execution_id)["gold"] == "succeeded"
    assert harness.node_statuses(execution_id)["other"] == "skipped"


async def test_a_secret_rendered_into_a_transform_is_redacted_from_what_is_stored() -> None:
    harness = await with_secret()
    doc = document([node("leak", "transform", config={"output": "key={{ secrets.PLAN }}"})])
    execution_id = await harness.run(doc)

    run = harness.node(execution_id, "leak")
    assert run.output == "[redacted]"
    stored = repr(run) + repr(harness.events(execution_id))
    stored += repr(harness.execution(execution_id))
    assert SECRET not in stored


async def test_a_sub_workflow_input_that_reads_a_secret_is_refused_at_save() -> None:
    harness = await with_secret()
    config = {"workflow_id": "wf_child", "input": {"plan": "{{ secrets.PLAN | urlencode }}"}}
    doc = document([node("child", "sub_workflow", config=config)])
    with pytest.raises(InvalidDefinition) as refused:
        await harness.create(doc)
    problem = refused.value.problems[0]
    assert (problem.code, problem.path) == ("secret_in_child_input", "nodes[0].config.input.plan")
    assert "secrets.NAME" in problem.message


async def test_a_child_reads_the_secret_by_name_and_nothing_stores_it() -> None:
    harness = await with_secret()
    reads = {"output": "{{ input.plan }}: {{ secrets.PLAN | urlencode }}"}
    child_doc = document([node("use", "transform", config=reads)])
    child_id = await harness.create(child_doc, name="child")
    parent_config = {"workflow_id": child_id, "input": {"plan": "gold"}}
    parent = document([node("child", "sub_workflow", config=parent_config)])
    execution_id = await harness.run(parent)
    await harness.settle()

    assert harness.status(execution_id) == "completed"
    stored = repr((harness.store.executions, harness.store.node_runs))
    stored += repr([harness.store.event_log(e) for e in harness.store.executions])
    assert SECRET not in stored
    assert harness.node(execution_id, "child").output == {"use": "[redacted]"}
