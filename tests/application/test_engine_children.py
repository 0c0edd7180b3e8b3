"""Sub-workflows: a node starts a child execution and takes its outcome."""

from __future__ import annotations

from application.ports.executors import Failed
from application.use_cases.cancel_execution import CancelExecution
from domain.events import EventType
from domain.policies import NodeError
from tests.application.conftest import WORKSPACE, Harness, chain, document, node, scripted


async def make_child(harness: Harness) -> str:
    child = document(
        [node("double", "transform", config={"output": "{{ input.n * 2 }}"}), scripted("call")],
        chain("double", "call"),
    )
    return await harness.create(child, name="child")


def parent_document(child_id: str) -> dict[str, object]:
    config = {"workflow_id": child_id, "input": {"n": "{{ input.n }}"}}
    return document(
        [node("sub", "sub_workflow", config=config), node("after")], chain("sub", "after")
    )


async def test_the_parent_completes_with_the_childs_output(harness: Harness) -> None:
    child_id = await make_child(harness)
    parent_id = await harness.run(parent_document(child_id), {"n": 21})

    assert harness.status(parent_id) == "completed"
    children = [e for e in harness.store.executions.values() if e.parent is not None]
    assert len(children) == 1
    child = children[0]
    assert (child.workflow_id, child.input, child.status.value) == (
        child_id,
        {"n": 21},
        "completed",
    )
    assert harness.node(parent_id, "sub").output == child.output
    assert child.output == {"call": {"node": "call", "attempt": 1}}
    assert EventType.CHILD_FINISHED in harness.types(parent_id)


async def test_the_parent_fails_when_the_child_fails(harness: Harness) -> None:
    harness.executor.on("call", 1, Failed(NodeError("http_400", "rejected", retryable=False)))
    child_id = await make_child(harness)
    parent_id = await harness.run(parent_document(child_id), {"n": 1})

    assert harness.status(parent_id) == "failed"
    sub = harness.node(parent_id, "sub")
    assert sub.error is not None and sub.error["kind"] == "child_failed"
    assert harness.node(parent_id, "after").status.value == "skipped"


async def test_a_sub_workflow_of_an_unknown_workflow_fails_the_node(harness: Harness) -> None:
    # A literal unknown id is refused at save time; one chosen by a template is not.
    parent = parent_document("{{ input.child }}")
    parent_id = await harness.run(parent, {"n": 1, "child": "wf_missing"})

    assert harness.status(parent_id) == "failed"
    sub = harness.node(parent_id, "sub")
    assert sub.error is not None and sub.error["kind"] == "workflow_not_found"


async def make_waiting_child(harness: Harness) -> str:
    child = document([node("approval", "wait_for_signal", config={"signal": "approve"})])
    return await harness.create(child, name="waiting-child")


def child_of(harness: Harness, parent_id: str) -> str:
    found = [
        e.id
        for e in harness.store.executions.values()
        if e.parent is not None and e.parent.execution_id == parent_id
    ]
    assert len(found) == 1
    return found[0]


async def test_cancelling_a_waiting_parent_cancels_its_child(harness: Harness) -> None:
    child_workflow = await make_waiting_child(harness)
    parent_id = await harness.run(parent_document(child_workflow), {"n": 1})
    child_id = child_of(harness, parent_id)
    assert (harness.status(parent_id), harness.status(child_id)) == ("waiting", "waiting")

    await harness.engine.cancel_execution()(CancelExecution(WORKSPACE, parent_id))

    assert harness.status(parent_id) == "cancelled"
    assert harness.status(child_id) == "cancelled"
    assert harness.node(child_id, "approval").status.value == "cancelled"
    assert EventType.CHILD_FINISHED not in harness.types(parent_id)


async def test_a_parent_that_times_out_cancels_its_child(harness: Harness) -> None:
    child_workflow = await make_waiting_child(harness)
    doc = parent_document(child_workflow)
    doc["settings"] = {"execution_timeout": 30}
    parent_id = await harness.run(doc, {"n": 1})
    child_id = child_of(harness, parent_id)

    await harness.settle()

    assert harness.status(parent_id) == "timed_out"
    assert harness.status(child_id) == "cancelled"
