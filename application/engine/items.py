"""A `for_each` node inside a step: starting its items, refilling them as they end, ending it.

Pure, like the rest of the decision: what it reads comes with the step's facts (how the
node's items stand, their outcomes once all ended, the workflow they run) and what it does
to other rows comes back as effects (insert an item's child, reopen a failed item, cancel
the items still running).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from application.creation import new_execution
from application.engine.changes import Changes, Held
from application.engine.context import template_context
from application.engine.effects import CancelItems, InsertChild, ReopenItem
from application.engine.facts import ITEMS_WINDOW, ChildWorkflow, Facts
from application.expressions import render
from application.ports.executors import StartItems
from application.ports.unit_of_work import ItemChild, ItemProgress, ItemsAt
from application.redaction import redact
from application.tracing import established, in_parent_trace
from domain import node_run as nr
from domain.errors import ExpressionError
from domain.execution import ParentLink
from domain.policies import NodeError
from domain.status import ExecutionStatus


class Step(Protocol):
    """What a `for_each` node reads and writes of the step it is decided in."""

    held: Held
    changes: Changes
    facts: Facts
    now: datetime

    def child_workflow(
        self, node_id: str, reference: str, version: int | None
    ) -> ChildWorkflow | None: ...


class ForEachStep:
    """The `for_each` nodes of one step."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.pumped: set[str] = set()
        """The nodes whose items this step has looked at: once per step."""

    def refill(self, node_id: str) -> None:
        """A waiting `for_each` node: start more items, or end it (once per step)."""
        if node_id not in self.pumped:
            self._pump(node_id)

    def start(self, node_id: str, request: StartItems) -> None:
        """Start a `for_each` node: pin its workflow version, wait, start the first items."""
        found = self.step.child_workflow(node_id, request.workflow, request.version)
        if found is None:
            return
        state = {
            "workflow_id": found.workflow.id,
            "version": found.version,
            "total": len(request.items),
            "next": 0,
            "parallelism": request.parallelism,
            "on_item_error": request.on_item_error,
        }
        self.step.changes.apply(nr.wait, node_id, None, {"for_each": state})
        self._pump(node_id)

    def _pump(self, node_id: str) -> None:
        """Start the next items of a waiting `for_each` node while fewer than its
        parallelism run, or end the node: its first failed item fails it (`fail`), and
        once every item ended it succeeds with their outputs in item order."""
        self.pumped.add(node_id)
        changes, held = self.step.changes, self.step.held
        run = changes.runs[node_id]
        state = dict((run.waiting_for or {})["for_each"])
        progress = self.step.facts.item_progress(ItemsAt(held.execution.id, node_id, state["next"]))
        if state["on_item_error"] == "fail" and progress.failed is not None:
            self._fail(node_id, progress.failed)
            return
        found = self._workflow(node_id, state)
        if found is None:
            return
        pumped = _ItemPump(self, node_id, state, found, progress)
        if not pumped.run():
            return
        if pumped.index >= state["total"] and pumped.active == 0:
            self._finish(node_id, state["on_item_error"])
            return
        # Items already done from an earlier attempt filled the window: look further at once.
        stuck = pumped.index < state["total"] and pumped.active < state["parallelism"]
        wake_at = self.step.now if stuck else None
        if pumped.started or pumped.index != state["next"] or run.wake_at != wake_at:
            state["next"] = pumped.index
            waiting_for = {"for_each": state}
            changes.apply(nr.start_items, node_id, wake_at, waiting_for, pumped.started)

    def _workflow(self, node_id: str, state: dict[str, Any]) -> ChildWorkflow | None:
        """The workflow version the node's items run, pinned when the node started."""
        found = self.step.facts.workflow((str(state["workflow_id"]), int(state["version"])))
        if found is None:
            message = f"the workflow that node {node_id!r} runs per item is archived"
            self.end_items(node_id, NodeError("workflow_not_found", message, False))
        return found

    def _fail(self, node_id: str, failed: ItemChild) -> None:
        message = (
            f"item {failed.index} of node {node_id!r} ended {failed.status.value}"
            f" (execution {failed.execution_id})"
        )
        details: dict[str, object] = {
            "index": failed.index,
            "child_execution_id": failed.execution_id,
            "error": failed.error,
        }
        self.end_items(node_id, NodeError("item_failed", message, False, details))

    def end_items(self, node_id: str, error: NodeError) -> None:
        """Fail a waiting `for_each` node for good; the items still running are cancelled."""
        changes = self.step.changes
        changes.effects.append(CancelItems(self.step.held.execution.id, node_id))
        error = replace(error, message=redact(error.message, changes.secret_values))
        changes.apply(nr.fail, node_id, self.step.now, error)

    def _finish(self, node_id: str, on_item_error: str) -> None:
        changes = self.step.changes
        outcomes = self.step.facts.item_outcomes(ItemsAt(self.step.held.execution.id, node_id))
        failed = next((o for o in outcomes if o.status is not ExecutionStatus.COMPLETED), None)
        if on_item_error == "fail" and failed is not None:
            self._fail(node_id, failed)
            return
        output: list[Any]
        if on_item_error == "fail":
            output = [outcome.output for outcome in outcomes]
        else:
            output = [
                {
                    "index": outcome.index,
                    "execution_id": outcome.execution_id,
                    "status": outcome.status.value,
                    "output": outcome.output,
                    "error": outcome.error,
                }
                for outcome in outcomes
            ]
        changes.apply(
            nr.succeed, node_id, self.step.now, redact(output, changes.secret_values), None
        )

    def start_item(self, node_id: str, found: ChildWorkflow, index: int, item_input: Any) -> None:
        """Start the child execution that runs item `index` of a `for_each` node."""
        changes, held = self.step.changes, self.step.held
        child, first_event = new_execution(
            execution_id=self.step.facts.new_id("ex"),
            workflow=found.workflow,
            version=found.version,
            definition=found.definition,
            input=redact(item_input, changes.secret_values),
            now=self.step.now,
            parent=ParentLink(held.execution.id, node_id, index),
            depth=held.execution.depth + 1,
            priority=held.execution.priority,
        )
        child = in_parent_trace(child, held.execution)
        node_ids = tuple(node.id for node in found.definition.nodes)
        changes.effects.append(InsertChild(child, node_ids, (first_event,)))


class _ItemPump:
    """One step's walk over a `for_each` node's next items: each not started yet starts,
    each that failed in an earlier attempt runs again, each that completed is kept, while
    fewer than the node's parallelism run."""

    def __init__(
        self,
        for_each: ForEachStep,
        node_id: str,
        state: dict[str, Any],
        found: ChildWorkflow,
        progress: ItemProgress,
    ) -> None:
        self.for_each = for_each
        self.changes = for_each.step.changes
        self.node_id = node_id
        self.state = state
        self.found = found
        self.ahead = {child.index: child for child in progress.ahead}
        self.active = progress.active
        self.index = int(state["next"])
        self.started: list[int] = []

    def run(self) -> bool:
        """Start what may start; False when the node failed (an item's input would not
        render)."""
        state = self.state
        stored = self.changes.runs[self.node_id].input or {}
        items: list[Any] = stored.get("items") or []
        template = stored.get("input")
        context = template_context(self.changes)
        end = min(int(state["total"]), self.index + ITEMS_WINDOW)
        while self.index < end and self.active < int(state["parallelism"]):
            child = self.ahead.get(self.index)
            if child is None:
                item_input = self._render(template, context, items[self.index])
                if item_input is None:
                    return False
                self.for_each.start_item(self.node_id, self.found, self.index, item_input[0])
            elif child.status is ExecutionStatus.COMPLETED:
                self.index += 1
                continue
            elif child.status.is_terminal:
                parent_trace = established(self.for_each.step.held.execution.trace_context)
                self.changes.effects.append(ReopenItem(child.execution_id, parent_trace))
            else:
                self.index += 1  # still running from an earlier attempt: counted as active
                continue
            self.active += 1
            self.started.append(self.index)
            self.index += 1
        return True

    def _render(self, template: Any, context: dict[str, Any], item: Any) -> tuple[Any] | None:
        if template is None:
            return ({"item": item},)
        scope = {**context, "item": item, "index": self.index}
        try:
            return (render(template, scope, node_id=self.node_id),)
        except ExpressionError as error:
            message = f"item {self.index}: {error.message}"
            failure = NodeError("expression_error", message, False)
            self.for_each.end_items(self.node_id, failure)
            return None
