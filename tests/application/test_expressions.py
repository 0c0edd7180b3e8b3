"""The template and expression language: rendering, conditions, filters, errors, secrets."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.expressions import evaluate, render
from application.redaction import redact
from application.secret_references import expression_secret_names, template_secret_names
from domain.errors import ExpressionError
from domain.problems import is_template

TOKEN = "tok-9f8e7d6c5b4a"


@pytest.fixture
def context() -> dict[str, Any]:
    return {
        "input": {"amount": 150, "customer": {"name": "Ada"}, "items": [1, 2, 3]},
        "nodes": {
            "fetch": {"output": {"status": 200, "body": {"id": 7, "tags": ["a", "b"]}}},
            "check": {"output": {"ok": True}},
        },
        "execution": {"id": "exec-1", "workflow_id": "wf-1", "version": 3, "attempt": 1},
        "secrets": {"TOKEN": TOKEN},
    }


def failure(value: Any, context: dict[str, Any], node_id: str = "fetch") -> str:
    with pytest.raises(ExpressionError) as caught:
        render(value, context, node_id=node_id)
    return str(caught.value)


# --- rendering ---------------------------------------------------------------------------


def test_a_lone_expression_passes_its_native_value_through(context: dict[str, Any]) -> None:
    assert render("{{ nodes.fetch.output.body }}", context, node_id="n") == {
        "id": 7,
        "tags": ["a", "b"],
    }
    assert render("  {{ input.amount }}\n", context, node_id="n") == 150
    assert render("{{ nodes.check.output.ok }}", context, node_id="n") is True
    assert render("{{ none }}", context, node_id="n") is None
    assert render("{{ input.amount / 4 }}", context, node_id="n") == 37.5


def test_native_results_are_copies_not_the_persisted_objects(context: dict[str, Any]) -> None:
    body = render("{{ nodes.fetch.output.body }}", context, node_id="n")
    body["id"] = 99
    assert context["nodes"]["fetch"]["output"]["body"]["id"] == 7


def test_generators_and_tuples_become_lists(context: dict[str, Any]) -> None:
    assert render("{{ input.items | map('string') }}", context, node_id="n") == ["1", "2", "3"]
    assert render("{{ (1, 2) }}", context, node_id="n") == [1, 2]


def test_mixed_text_renders_to_a_string(context: dict[str, Any]) -> None:
    assert render("Hello {{ input.customer.name }}!", context, node_id="n") == "Hello Ada!"
    assert render("{{ input.amount }}{{ input.amount }}", context, node_id="n") == "150150"
    assert render("{% if input.amount > 100 %}big{% endif %}", context, node_id="n") == "big"


def test_json_keys_win_over_dict_methods(context: dict[str, Any]) -> None:
    assert render("{{ input.items }}", context, node_id="n") == [1, 2, 3]


def test_nested_structures_render_values_but_not_keys(context: dict[str, Any]) -> None:
    config = {
        "url": "https://api.test/orders/{{ nodes.fetch.output.body.id }}",
        "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
        "{{ not_a_key_template }}": ["{{ execution.id }}", 5, None, {"n": "{{ input.amount }}"}],
        "retries": 3,
    }
    assert render(config, context, node_id="n") == {
        "url": "https://api.test/orders/7",
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "{{ not_a_key_template }}": ["exec-1", 5, None, {"n": 150}],
        "retries": 3,
    }


def test_strings_without_template_syntax_are_untouched(context: dict[str, Any]) -> None:
    assert render("{ not a template } %}", context, node_id="n") == "{ not a template } %}"
    assert is_template("a {{ b }}") and is_template("{% if x %}{% endif %}")
    assert not is_template("{ plain }")


# --- conditions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("input.amount > 100 and nodes.check.output.ok", True),
        ("input.amount > 1000 or not nodes.check.output.ok", False),
        ("nodes.fetch.output.status == 200", True),
        ("'b' in nodes.fetch.output.body.tags", True),
        ("input.customer.name | lower == 'ada'", True),
        ("{{ input.amount >= 150 }}", True),
        ("nodes.fetch.output.body.id + 1", 8),
    ],
)
def test_conditions_evaluate_to_native_values(
    context: dict[str, Any], expression: str, expected: Any
) -> None:
    assert evaluate(expression, context, node_id="branch") == expected


def test_a_condition_over_a_missing_value_fails(context: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError, match=r"node 'branch'.*input\.total > 5"):
        evaluate("input.total > 5", context, node_id="branch")


# --- filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ nodes.fetch.output.body | tojson }}", '{"id": 7, "tags": ["a", "b"]}'),
        ("{{ {'html': '<&>'} | tojson }}", '{"html": "<&>"}'),
        ("{{ '{\"a\": [1, 2]}' | fromjson }}", {"a": [1, 2]}),
        ("{{ input.missing | default('none') }}", "none"),
        ("{{ input.items | length }}", 3),
        ("{{ input.customer.name | upper }}", "ADA"),
        ("{{ '42' | int + 1 }}", 43),
        ("{{ '2.5' | float }}", 2.5),
        ("{{ 2.567 | round(1) }}", 2.6),
        ("{{ 'user:pass' | b64encode }}", "dXNlcjpwYXNz"),
        ("{{ 'dXNlcjpwYXNz' | b64decode }}", "user:pass"),
        ("{{ {'q': 'a b', 'n': 1} | urlencode }}", "q=a+b&n=1"),
    ],
)
def test_filters(context: dict[str, Any], template: str, expected: Any) -> None:
    assert render(template, context, node_id="n") == expected


# --- errors ------------------------------------------------------------------------------


def test_an_undefined_name_names_the_node_the_template_and_the_missing_key(
    context: dict[str, Any],
) -> None:
    message = failure({"url": "{{ nodes.missing.output }}"}, context)
    assert message.startswith("node 'fetch': cannot evaluate \"{{ nodes.missing.output }}\"")
    assert "'nodes' has no attribute 'missing'" in message
    assert "available: fetch, check" in message
    assert "at url" in message


def test_an_unknown_top_level_name_fails(context: dict[str, Any]) -> None:
    assert "'inputs' is undefined" in failure("{{ inputs.amount }}", context)


def test_a_mixed_template_with_an_undefined_name_fails(context: dict[str, Any]) -> None:
    assert "'input' has no attribute 'nope'" in failure("Hi {{ input.nope }}", context)


@pytest.mark.parametrize("template", ["{{ input.amount ", "{{ input.amount + }}", "{% if x %}"])
def test_a_syntax_error_is_reported(context: dict[str, Any], template: str) -> None:
    message = failure(template, context)
    assert f"node 'fetch': cannot evaluate \"{template}\"" in message
    assert "syntax error on line 1" in message


def test_a_type_error_is_reported(context: dict[str, Any]) -> None:
    assert "node 'calc'" in failure("{{ input.customer.name - 1 }}", context, node_id="calc")


def test_an_error_path_points_into_lists(context: dict[str, Any]) -> None:
    assert "at body.lines[1]" in failure({"body": {"lines": ["ok", "{{ nope }}"]}}, context)


def test_errors_never_show_secret_values(context: dict[str, Any]) -> None:
    for template in ("{{ input[secrets.TOKEN] }}", "{{ secrets.TOKEN | fromjson }}"):
        message = failure(template, context)
        assert TOKEN not in message
        assert template in message


# --- the sandbox -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ input.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ execution.id.__len__ }}",
        "{{ input.update({'amount': 1}) }}",
        "{{ cycler.__init__.__globals__ }}",
        "x {{ input.__class__ }} y",
    ],
)
def test_the_sandbox_blocks_internals_and_mutation(context: dict[str, Any], template: str) -> None:
    assert "cannot evaluate" in failure(template, context)
    assert context["input"]["amount"] == 150


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ range(10**9) | list }}", "Range too big"),
        ("{% for i in range(10**9) %}{% endfor %}", "Range too big"),
        ("{{ 9 ** (9 ** 9) }}", "too large"),
        ("{{ 'x' * 10**9 }}", "repeating a sequence"),
        ("{{ [0] * 10**9 }}", "repeating a sequence"),
    ],
)
def test_the_sandbox_stops_resource_abuse(
    context: dict[str, Any], template: str, reason: str
) -> None:
    assert reason in failure(template, context)


def test_small_powers_and_repeats_still_work(context: dict[str, Any]) -> None:
    assert render("{{ 2 ** 10 }}{{ '-' * 3 }}", context, node_id="n") == "1024---"


def test_lipsum_is_gone_because_results_must_be_reproducible(context: dict[str, Any]) -> None:
    assert "'lipsum' is undefined" in failure("{{ lipsum() }}", context)


# --- secrets -----------------------------------------------------------------------------


def test_secret_names_are_found_in_every_template() -> None:
    config = {
        "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
        "body": ["{{ secrets['SIGNING_KEY'] | b64encode }}", "{% if secrets.FLAG %}x{% endif %}"],
        "plain": "secrets.NOT_A_TEMPLATE",
        "dynamic": "{{ secrets[input.name] }}",
        "broken": "{{ secrets.BROKEN",
        "other": "{{ input.secrets.NOPE }}",
    }
    assert template_secret_names(config) == {"API_TOKEN", "SIGNING_KEY", "FLAG"}
    assert template_secret_names(42) == set()


def test_secret_names_are_found_in_a_condition() -> None:
    assert expression_secret_names("secrets.MODE == 'live' and input.x") == {"MODE"}


def test_redact_replaces_secrets_everywhere_and_leaves_the_original() -> None:
    value = {
        "text": f"Bearer {TOKEN}, again {TOKEN}",
        "list": [f"x{TOKEN}x", 5, None, (TOKEN,)],
        TOKEN: "key",
        "short": "abc",
    }
    redacted = redact(value, [TOKEN, "abc", ""])
    assert redacted == {
        "text": "Bearer [redacted], again [redacted]",
        "list": ["x[redacted]x", 5, None, ("[redacted]",)],
        "[redacted]": "key",
        "short": "abc",
    }
    assert value["text"] == f"Bearer {TOKEN}, again {TOKEN}"


def test_redact_catches_escaped_forms_and_overlapping_secrets() -> None:
    secret = 'p@ss "word"/1'
    as_json = '{"pw": "p@ss \\"word\\"/1"}'
    text = f"{as_json} ?p=p%40ss%20%22word%22%2F1&q=p%40ss+%22word%22%2F1 {secret}"
    assert redact(text, [secret]) == '{"pw": "[redacted]"} ?p=[redacted]&q=[redacted] [redacted]'
    assert redact("longsecret", ["long", "longsecret"]) == "[redacted]"


def test_redact_without_secrets_returns_the_value() -> None:
    assert redact({"a": "b"}, []) == {"a": "b"}


# --- properties --------------------------------------------------------------------------

plain_text = st.text().filter(lambda text: not is_template(text))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | plain_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(plain_text, children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_values_without_templates_render_unchanged(value: Any) -> None:
    assert render(value, {"input": {}}, node_id="n") == value


# Letters and digits only: a secret made of "[redacted]"'s brackets could reappear across
# the placeholder's edge, and such a secret is not worth the weaker assertion.
secrets_text = st.text(alphabet=string.ascii_letters + string.digits, min_size=4)


@given(secrets_text, st.text())
def test_a_redacted_value_never_contains_the_secret(secret: str, around: str) -> None:
    (redacted,) = redact([around + secret + around], [secret])
    assert secret not in redacted.replace("[redacted]", "[]")
