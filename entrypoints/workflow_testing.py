"""Run a workflow from a Python test, as `treadle test` runs a test file's case: in memory,
on a fake clock, its `http_request` and `ai_prompt` nodes answered from a script.

    from entrypoints.workflow_testing import run_workflow

    def test_retries_until_the_api_answers() -> None:
        ran = run_workflow(
            definition,
            {"id": 9},
            responses={"charge": [{"status": 503}, {"status": 200, "body": {"ok": True}}]},
        )
        assert ran.status == "completed"
        assert ran.nodes["charge"]["attempts"] == 2

`responses`, `secrets` and `signals` take the shapes of a `*.test.yaml` case (see
docs/testing-workflows.md), answers' `delay_seconds` and `when` included; `calls` gives
back the requests each node sent; `workflows` gives the definitions of the workflows it starts
(`sub_workflow`, `for_each`) by name. The pytest plugin in `entrypoints.pytest_plugin`
offers the same as the `run_workflow` fixture; in an async test, await
`run_workflow_async`.

`entrypoints.containers.workflow_test_engine` wires the engine of one case, for this module
and `treadle test`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from application.workflow_tests import (
    DEFAULT_ADVANCE_SECONDS,
    NamedWorkflow,
    TestFileError,
    drive_case,
    parse_test_file,
)
from domain.validation import validate_document


@dataclass(frozen=True)
class WorkflowRun:
    """How the execution ended (or stood when its time was up)."""

    status: str
    output: Any
    error: dict[str, Any] | None
    nodes: dict[str, dict[str, Any]]
    """Each node's `status`, `attempts`, `output` and `error`."""
    seconds: float
    """The fake time that passed."""
    unanswered: list[str]
    """The calls the script had no answer for (they were not sent; their nodes failed)."""
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """The requests each network node sent, in order, by node id (`<workflow>.<node id>`
    for a child's node): `method`, `url`, `headers` (lower-case names) and `body` (decoded
    from JSON when it is JSON), secrets replaced by `[redacted]`."""


async def run_workflow_async(
    definition: Mapping[str, Any],
    input: Any = None,
    *,
    responses: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    secrets: Mapping[str, str] | None = None,
    workflows: Mapping[str, Mapping[str, Any]] | None = None,
    signals: Sequence[Mapping[str, Any]] = (),
    advance_seconds: float = DEFAULT_ADVANCE_SECONDS,
) -> WorkflowRun:
    """Run `definition` with `input` to its end, with `workflows` (definitions by name)
    created next to it; raises `TestFileError` for a definition the API would refuse or
    a malformed script, naming the path."""
    children = [NamedWorkflow(name, child) for name, child in (workflows or {}).items()]
    for name, document in [("workflow", definition), *((c.name, c.document) for c in children)]:
        problems = validate_document(dict(document))
        if problems:
            listed = "; ".join(f"{p.path or '(document)'}: {p.message}" for p in problems)
            what = "the workflow" if document is definition else f"workflow {name!r}"
            raise TestFileError(f"{what} is not valid: {listed}")
    raw_case = {
        "name": "run_workflow",
        "input": input,
        "responses": {node: list(answers) for node, answers in (responses or {}).items()},
        "secrets": dict(secrets or {}),
        "signals": [dict(signal) for signal in signals],
        "advance_seconds": advance_seconds,
        "expect": {},  # the caller asserts on what comes back
    }
    [case] = parse_test_file({"workflow": "(inline)", "cases": [raw_case]}).cases
    # Here, not above: the engine's wiring loads only when a workflow test runs.
    from entrypoints.containers import workflow_test_engine

    engine = workflow_test_engine(case.responses)
    ran = await drive_case(engine, "workflow", definition, case, children)
    actual = ran.actual
    return WorkflowRun(
        status=actual["status"],
        output=actual["output"],
        error=actual["error"],
        nodes=actual["nodes"],
        seconds=ran.seconds,
        unanswered=ran.unanswered,
        calls=actual["calls"],
    )


def run_workflow(
    definition: Mapping[str, Any],
    input: Any = None,
    *,
    responses: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    secrets: Mapping[str, str] | None = None,
    workflows: Mapping[str, Mapping[str, Any]] | None = None,
    signals: Sequence[Mapping[str, Any]] = (),
    advance_seconds: float = DEFAULT_ADVANCE_SECONDS,
) -> WorkflowRun:
    """`run_workflow_async` for a synchronous test."""
    return asyncio.run(
        run_workflow_async(
            definition,
            input,
            responses=responses,
            secrets=secrets,
            workflows=workflows,
            signals=signals,
            advance_seconds=advance_seconds,
        )
    )
