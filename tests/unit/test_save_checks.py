"""The checks a workflow goes through when it is saved (application/save_checks.py and
domain/reference_checks.py): template and expression syntax, `nodes.<id>` reads, secrets
the workspace lacks, and sub-workflows naming no workflow."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.clock import SystemClock
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.records import StoredSecret, Workflow, WorkflowVersion
from application.save_checks import SaveCheck, check_definition, check_document
from domain.problems import Problem
from domain.reference_checks import NodeReference, check_node_references, upstream_among
from domain.validation import parse_definition

WORKSPACE = "ws_checks"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def transform(node_id: str, output: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "transform", "config": {"output": output}}


def chain(*ids: str) -> list[dict[str, str]]:
    return [{"from": a, "to": b} for a, b in itertools.pairwise(ids)]


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(clock=SystemClock())


async def check(store: InMemoryStore, doc: dict[str, Any]) -> SaveCheck:
    factory = InMemoryUnitOfWorkFactory(store)
    async with factory() as uow:
        return await check_definition(uow, WORKSPACE, parse_definition(doc))


def codes(problems: tuple[Problem, ...]) -> list[tuple[str, str]]:
    return [(problem.code, problem.path) for problem in problems]


async def test_a_valid_workflow_has_no_problems_or_warnings(store: InMemoryStore) -> None:
    doc = {
        "nodes": [
            transform("fetch", {"x": "{{ input.x }}"}),
            transform("use", "{{ nodes.fetch.output.x }} and {{ nodes['fetch'].output }}"),
        ],
        "edges": chain("fetch", "use"),
    }
    found = await check(store, doc)
    assert found == SaveCheck()
    assert found.valid


async def test_an_unclosed_template_is_a_problem_at_its_path_naming_the_line(
    store: InMemoryStore,
) -> None:
    doc = {
        "nodes": [
            transform("a", "ok"),
            {
                "id": "call",
                "kind": "http_request",
                "config": {"url": "https://example.com/{{ input.x ", "method": "GET"},
            },
        ],
        "edges": chain("a", "call"),
    }
    found = await check(store, doc)
    assert codes(found.problems) == [("invalid_template", "nodes[1].config.url")]
    assert "line 1" in found.problems[0].message
    assert "unexpected end of template" in found.problems[0].message


async def test_a_syntax_error_on_a_later_line_names_that_line(store: InMemoryStore) -> None:
    doc = {"nodes": [transform("a", {"list": ["fine", "one\ntwo\n{% if %}{% endif %}"]})]}
    found = await check(store, doc)
    assert codes(found.problems) == [("invalid_template", "nodes[0].config.output.list[1]")]
    assert "line 3" in found.problems[0].message


async def test_an_unknown_filter_is_refused_as_rendering_would(store: InMemoryStore) -> None:
    found = await check(store, {"nodes": [transform("a", "{{ input.x | no_such_filter }}")]})
    assert codes(found.problems) == [("invalid_template", "nodes[0].config.output")]
    assert "no_such_filter" in found.problems[0].message


def condition(*expressions: str) -> dict[str, Any]:
    cases = [{"when": f"c{index}", "if": text} for index, text in enumerate(expressions)]
    return {"id": "pick", "kind": "condition", "config": {"cases": cases, "default": "other"}}


async def test_a_broken_condition_expression_is_a_problem_at_its_case(
    store: InMemoryStore,
) -> None:
    doc = {"nodes": [condition("input.x > 1", "input.x >", "{{ input.ok }}")]}
    found = await check(store, doc)
    assert codes(found.problems) == [("invalid_expression", "nodes[0].config.cases[1].if")]
    assert "line 1" in found.problems[0].message


async def test_a_reference_to_a_node_that_does_not_exist_is_a_problem(
    store: InMemoryStore,
) -> None:
    doc = {
        "nodes": [
            transform("fetch", 1),
            transform("use", {"a": "{{ nodes.fecth.output }}", "b": "{{ nodes.gone }}"}),
        ],
        "edges": chain("fetch", "use"),
    }
    found = await check(store, doc)
    assert codes(found.problems) == [
        ("unknown_node_reference", "nodes[1].config.output.a"),
        ("unknown_node_reference", "nodes[1].config.output.b"),
    ]
    assert "'fecth'" in found.problems[0].message


async def test_a_node_that_is_not_upstream_is_a_problem_also_from_a_condition(
    store: InMemoryStore,
) -> None:
    doc = {
        "nodes": [
            transform("start", 1),
            transform("left", 2),
            transform("right", "{{ nodes['left'].output }}"),
            {
                "id": "pick",
                "kind": "condition",
                "config": {"cases": [{"when": "yes", "if": "nodes.later.output"}]},
            },
            transform("later", 3),
        ],
        "edges": [
            {"from": "start", "to": "left"},
            {"from": "start", "to": "right"},
            {"from": "right", "to": "pick"},
            {"from": "pick", "to": "later", "when": "yes"},
        ],
    }
    found = await check(store, doc)
    assert codes(found.problems) == [
        ("node_not_upstream", "nodes[2].config.output"),
        ("node_not_upstream", "nodes[3].config.cases[0].if"),
    ]


async def test_a_node_reading_itself_is_not_upstream(store: InMemoryStore) -> None:
    found = await check(store, {"nodes": [transform("me", "{{ nodes.me.output }}")]})
    assert codes(found.problems) == [("node_not_upstream", "nodes[0].config.output")]


async def test_computed_references_and_mapping_methods_are_left_alone(
    store: InMemoryStore,
) -> None:
    doc = {
        "nodes": [
            transform(
                "a",
                {
                    "computed": "{{ nodes[input.which].output }}",
                    "joined": "{{ nodes['x' ~ input.n] }}",
                    "optional": "{{ nodes.get('maybe') }}",
                    "listed": "{{ nodes.keys() | list }}",
                    "shadowed": "{% set nodes = {'z': 1} %}{{ nodes.z }}",
                },
            )
        ]
    }
    found = await check(store, doc)
    assert found == SaveCheck()


async def test_a_missing_secret_is_a_warning_not_a_problem(store: InMemoryStore) -> None:
    store.secrets[(WORKSPACE, "KNOWN")] = StoredSecret(WORKSPACE, "KNOWN", b"x", NOW, NOW)
    store.secrets[("ws_other", "ELSEWHERE")] = StoredSecret("ws_other", "ELSEWHERE", b"x", NOW, NOW)
    doc = {
        "nodes": [
            {
                "id": "call",
                "kind": "http_request",
                "config": {
                    "url": "https://example.com",
                    "headers": {
                        "A": "{{ secrets.KNOWN }}",
                        "B": "{{ secrets['MISSING'] }}",
                        "C": "{{ secrets.ELSEWHERE }}",
                    },
                },
            },
            {
                "id": "pick",
                "kind": "condition",
                "config": {"cases": [{"when": "yes", "if": "secrets.FLAG == 'on'"}]},
            },
        ],
        "edges": [{"from": "call", "to": "pick"}],
    }
    found = await check(store, doc)
    assert found.valid
    assert codes(found.warnings) == [
        ("unknown_secret", "nodes[0].config.headers.B"),
        ("unknown_secret", "nodes[0].config.headers.C"),
        ("unknown_secret", "nodes[1].config.cases[0].if"),
    ]
    assert "MISSING" in found.warnings[0].message


def sub_workflow(workflow_id: str) -> dict[str, Any]:
    return {"id": "sub", "kind": "sub_workflow", "config": {"workflow_id": workflow_id}}


async def test_a_sub_workflow_naming_no_workflow_is_a_problem(store: InMemoryStore) -> None:
    child = Workflow("wf_child", WORKSPACE, "child", 1, NOW, NOW)
    other = Workflow("wf_other", "ws_other", "other", 1, NOW, NOW)
    for workflow in (child, other):
        store.workflows[workflow.id] = workflow
        store.versions[(workflow.id, 1)] = WorkflowVersion(workflow.id, 1, {}, NOW)

    assert await check(store, {"nodes": [sub_workflow("wf_child")]}) == SaveCheck()
    templated = await check(store, {"nodes": [sub_workflow("{{ input.child }}")]})
    assert templated == SaveCheck()
    for missing in ("wf_missing", "wf_other"):
        found = await check(store, {"nodes": [sub_workflow(missing)]})
        assert codes(found.problems) == [("unknown_workflow", "nodes[0].config.workflow_id")]


async def test_check_document_reports_shape_problems_and_stores_nothing(
    store: InMemoryStore,
) -> None:
    factory = InMemoryUnitOfWorkFactory(store)
    broken = await check_document(factory, WORKSPACE, {"nodes": [{"id": "a", "kind": "nope"}]})
    assert not broken.valid
    assert broken.problems[0].path == "nodes[0].kind"
    bad = {"nodes": [transform("a", "{{ nodes.b.output }}")]}
    found = await check_document(factory, WORKSPACE, bad)
    assert codes(found.problems) == [("unknown_node_reference", "nodes[0].config.output")]
    assert store.workflows == {}


def test_upstream_is_found_through_several_edges_and_only_backwards() -> None:
    definition = parse_definition(
        {
            "nodes": [transform(name, 1) for name in ("a", "b", "c", "d")],
            "edges": [*chain("a", "b", "c"), {"from": "a", "to": "d"}],
        }
    )
    assert upstream_among(definition, "c", {"a", "b", "d"}) == {"a", "b"}
    assert upstream_among(definition, "a", {"b", "c"}) == frozenset()
    references = [
        NodeReference("c", "a", "p1"),
        NodeReference("c", "a", "p1"),
        NodeReference("d", "c", "p2"),
        NodeReference("d", "zzz", "p3"),
    ]
    problems = check_node_references(definition, references)
    assert [(p.code, p.path) for p in problems] == [
        ("node_not_upstream", "p2"),
        ("unknown_node_reference", "p3"),
    ]
