"""Redaction follows the data: whatever a filter makes of a secret is never stored.

For random secret values and every filter the expression language offers, a transform's
output, a network node's input, output and error, a downstream node's input and the
execution's output and events never hold the rendered form, nor the secret itself.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

from dependency_injector import providers
from hypothesis import given, settings
from hypothesis import strategies as st

from application.expressions import _ENV, render, render_tracked
from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from application.redaction import MIN_SECRET_LENGTH, REDACTED
from domain.definition import NodeKind
from domain.policies import NodeError
from tests.application.conftest import (
    SCRIPTED_URL,
    Harness,
    build_harness,
    document,
    edge,
    node,
)

# Filters that take an argument get a usable one; every other filter is applied bare.
FILTER_CALLS = {
    "replace": "replace('a', 'b')",
    "truncate": "truncate(12, true, '')",
    "center": "center(40)",
    "indent": "indent(2, true)",
    "wordwrap": "wordwrap(5)",
    "batch": "batch(3)",
    "slice": "slice(2)",
    "b64encode": "b64encode(true)",
    "format": "format()",
}
FILTERS = sorted({*_ENV.filters} - {"random"})  # random would give a different form each time
SECRET_ALPHABET = string.ascii_letters + string.digits + "/+=-_.~%&?#"
# A fixed head with `/` and `+` (as in base64 keys) keeps a shrunk value from being a word
# that the stored data holds anyway (an event type, a status).
secret_values = st.text(SECRET_ALPHABET, min_size=4, max_size=40).map(lambda s: f"Q7/{s}+z")


def expression(filter_name: str) -> str:
    return f"secrets.S | {FILTER_CALLS.get(filter_name, filter_name)}"


def rendered_forms(value: str, filter_name: str) -> set[str]:
    """The texts the filter makes of the secret, long enough to be told apart from data."""
    try:
        result = render(
            "{{ " + expression(filter_name) + " }}", {"secrets": {"S": value}}, node_id="n"
        )
    except Exception:
        return {value}
    return {text for text in _leaves(result) if len(text) >= MIN_SECRET_LENGTH} | {value}


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield str(value)


# --- the renderer marks what came from a secret ------------------------------------------


@given(value=secret_values, filter_name=st.sampled_from(FILTERS))
@settings(max_examples=300, deadline=None)
def test_a_field_that_reads_a_secret_is_sensitive_whatever_the_filter(
    value: str, filter_name: str
) -> None:
    config = {"plain": "{{ input.x }}", "key": "k={{ " + expression(filter_name) + " }}"}
    try:
        rendered = render_tracked(config, {"input": {"x": 1}, "secrets": {"S": value}}, node_id="n")
    except Exception:
        return  # a filter that refuses a string fails the node; its message is checked elsewhere
    assert rendered.sensitive_paths == {("key",)}
    assert rendered.masked() == {"plain": 1, "key": REDACTED}
    for form in rendered_forms(value, filter_name) - {value}:
        assert form in rendered.sensitive_texts


def test_a_dynamic_lookup_makes_a_field_sensitive() -> None:
    context = {"input": {"name": "S"}, "secrets": {"S": "dyn-secret-value"}}
    rendered = render_tracked({"h": "{{ secrets[input.name] | upper }}"}, context, node_id="n")
    assert rendered.sensitive_paths == {("h",)}
    assert "DYN-SECRET-VALUE" in rendered.sensitive_texts


def test_outputs_that_read_no_secret_are_not_collected() -> None:
    context = {"input": {"user": "alice-in-chains"}, "secrets": {"S": "s3cr3t/value+"}}
    rendered = render_tracked("{{ input.user }}:{{ secrets.S | urlencode }}", context, node_id="n")
    assert "alice-in-chains" not in rendered.sensitive_texts
    assert "s3cr3t/value%2B" in rendered.sensitive_texts


def test_an_expression_error_over_a_secret_hides_its_details() -> None:
    context = {"input": {}, "secrets": {"S": "a/b+c/d+e"}}
    try:
        render_tracked("{{ input[secrets.S | urlencode] }}", context, node_id="n")
    except Exception as error:
        assert "a/b%2Bc" not in str(error)
        assert "details hidden" in str(error)
    else:
        raise AssertionError("the lookup should have failed")


# --- the engine stores none of it -----------------------------------------------------------


class EchoingNetworkNode:
    """A network node that echoes what it was sent (as a careless API would), then fails
    once with the same text in its error body."""

    def __init__(self) -> None:
        self.calls: list[NodeCall] = []

    async def run(self, call: NodeCall) -> NodeResult:
        self.calls.append(call)
        sent = str(call.config["headers"]["X-Key"]).removeprefix("k=")
        if call.attempt == 1:
            details = {"status": 500, "body_excerpt": f"bad key {sent}"}
            return Failed(NodeError("http_status", f"rejected {sent}", True, details))
        return Succeeded(output={"echo": sent, "headers": dict(call.config["headers"])})


def leaky_workflow(filter_name: str) -> dict[str, Any]:
    template = "{{ " + expression(filter_name) + " }}"
    network = node(
        "call",
        "http_request",
        config={"url": SCRIPTED_URL, "headers": {"X-Key": "k=" + template}},
        retry={"max_attempts": 2, "initial_interval": 0.001},
        on_error="continue",
    )
    return document(
        [
            node("shape", "transform", config={"output": {"v": template, "w": "w=" + template}}),
            network,
            node("after", "transform", config={"output": "{{ nodes.call.output }}"}),
            node("last", "transform", config={"output": "{{ nodes.shape.output }}"}),
        ],
        [edge("shape", "call"), edge("call", "after"), edge("shape", "last")],
    )


def stored_text(harness: Harness) -> str:
    store = harness.store
    return repr((store.executions, store.node_runs, [store.event_log(e) for e in store.executions]))


@given(value=secret_values, filter_name=st.sampled_from(FILTERS))
@settings(max_examples=150, deadline=None)
async def test_no_stored_row_holds_a_secret_in_any_filtered_form(
    value: str, filter_name: str
) -> None:
    echo = EchoingNetworkNode()
    harness = build_harness()
    registry = harness.engine.executors().with_executors({NodeKind.HTTP_REQUEST: echo})
    harness.engine.executors.override(providers.Object(registry))
    await harness.put_secret("S", value)
    execution_id = await harness.run(leaky_workflow(filter_name))
    await harness.settle()

    assert harness.execution(execution_id).status.is_terminal
    assert harness.node_statuses(execution_id)["shape"] in {"succeeded", "failed"}
    stored = stored_text(harness)
    for form in rendered_forms(value, filter_name):
        assert form not in stored, (filter_name, form)
