"""Preparing a node's call: the template context from persisted state, secrets, rendering.

Pure: the secrets come with the step's facts, fetched by the group committer."""

from __future__ import annotations

from typing import Any

from application.engine.changes import Changes, Held
from application.engine.facts import Facts
from application.expressions import Rendered, render_tracked
from application.ids import node_idempotency_key
from application.ports.executors import Failed, NodeCall
from application.redaction import MIN_SECRET_LENGTH, redact
from application.secret_references import expression_secret_names, template_secret_names
from domain.definition import Node, NodeKind
from domain.errors import ExpressionError
from domain.network_config import DEFAULT_API_KEY_SECRET
from domain.policies import NodeError, node_deadline
from domain.problems import is_template

# Condition cases hold bare expressions evaluated by the executor, not templates.
UNRENDERED_KINDS = frozenset({NodeKind.CONDITION})
CHILD_STARTING_KINDS = frozenset({NodeKind.SUB_WORKFLOW, NodeKind.FOR_EACH})


def template_context(changes: Changes) -> dict[str, Any]:
    """What templates may read: input, finished nodes' results, and the execution."""
    execution = changes.execution
    nodes = changes.finished
    return {
        "input": execution.input,
        "nodes": nodes,
        "execution": {
            "id": execution.id,
            "workflow_id": execution.workflow_id,
            "version": execution.version,
            "created_at": execution.created_at.isoformat(),
            "scheduled_for": execution.scheduled_for.isoformat()
            if execution.scheduled_for
            else None,
        },
    }


def secret_names(node: Node) -> set[str]:
    """The secrets a node's templates, its condition expressions or its API key name."""
    names = template_secret_names(node.config)
    if node.kind is NodeKind.CONDITION:
        for case in node.config.get("cases") or ():
            if isinstance(case, dict) and isinstance(case.get("if"), str):
                names |= expression_secret_names(case["if"])
    if node.kind is NodeKind.AI_PROMPT:
        names.add(str(node.config.get("api_key_secret") or DEFAULT_API_KEY_SECRET))
    return names


def prepare_call(
    held: Held, changes: Changes, node: Node, facts: Facts
) -> tuple[NodeCall, Any] | Failed:
    """The call for a node's next attempt and the input to store for it (secrets masked).

    Texts computed from secrets join `changes.secret_values`, so whatever the node
    produces is scrubbed of them too.
    """
    context = template_context(changes)
    secrets = facts.secret_values(secret_names(node))
    changes.secret_values.update(value for value in secrets.values() if value)
    try:
        rendered = _render(node, {**context, "secrets": secrets})
    except ExpressionError as error:
        message = redact(error.message, changes.secret_values)
        return Failed(NodeError("expression_error", message, retryable=False))
    changes.secret_values.update(
        text for text in rendered.sensitive_texts if len(text) >= MIN_SECRET_LENGTH
    )
    if node.kind in CHILD_STARTING_KINDS and _child_input_is_sensitive(rendered):
        return Failed(_secret_in_child_input(node.id))
    call = NodeCall(
        execution_id=held.execution.id,
        workspace_id=held.execution.workspace_id,
        workflow_id=held.execution.workflow_id,
        node_id=node.id,
        kind=node.kind,
        attempt=changes.runs[node.id].attempt + 1,
        config=dict(rendered.value),
        context=context if not secrets else {**context, "secrets": secrets},
        idempotency_key=node_idempotency_key(held.execution.id, node.id),
        now=facts.now,
        deadline=node_deadline(facts.now, node.timeout),
        secrets=secrets,
        sensitive_texts=frozenset(changes.secret_values),
    )
    return call, redact(rendered.masked(), changes.secret_values)


def _render(node: Node, context: dict[str, Any]) -> Rendered:
    if node.kind in UNRENDERED_KINDS:
        return Rendered(dict(node.config), frozenset(), frozenset())
    if node.kind is NodeKind.FOR_EACH:
        return _render_for_each(node, context)
    return render_tracked(dict(node.config), context, node_id=node.id)


def _render_for_each(node: Node, context: dict[str, Any]) -> Rendered:
    """A for_each's config with its items evaluated; its `input` stays a template, rendered
    per item when the item starts (with `item` and `index` in scope)."""
    config = dict(node.config)
    item_input = config.pop("input", None)
    items = config.get("items")
    if isinstance(items, str) and not is_template(items):
        config["items"] = "{{ " + items + " }}"  # a bare expression, as a condition's `if`
    rendered = render_tracked(config, context, node_id=node.id)
    if item_input is None:
        return rendered
    value = {**rendered.value, "input": item_input}
    return Rendered(value, rendered.sensitive_paths, rendered.sensitive_texts)


def _child_input_is_sensitive(rendered: Rendered) -> bool:
    return any(path[:1] in (("input",), ("items",)) for path in rendered.sensitive_paths)


def _secret_in_child_input(node_id: str) -> NodeError:
    # A child execution's input is stored and shown like any other: it cannot hold a
    # secret. The child runs in the same workspace and can read the secret by name.
    message = (
        f"node {node_id!r}: a sub-workflow's input cannot carry a secret; pass the "
        "secret's name instead and read it in the child as secrets.NAME"
    )
    return NodeError("secret_in_child_input", message, retryable=False)
