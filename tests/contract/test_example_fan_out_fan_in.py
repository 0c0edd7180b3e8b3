"""The fan-out-fan-in example run as its README says, on each adapter: the workflow files
applied in the README's order, then each `treadle run` of the README, whose output must
be the one the README shows (laid out as JSON, or as the `output ...` line `--watch`
prints). Both runs go through `for_each`: five items, then none."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from domain.status import ExecutionStatus
from entrypoints.cli.workflows import read_definition_file
from tests.contract.conftest import Backend
from tests.contract.test_engine import engine_on

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "examples" / "fan-out-fan-in" / "README.md"
WORKSPACE = "ws_example"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def readme_steps() -> tuple[list[Path], list[tuple[Any, str, str]]]:
    """The files the README applies, in order, up to its first online-only section, and
    each run: (its input, how the README shows the output: `json` or ``, that text)."""
    text = README.read_text(encoding="utf-8").split("\n## Online", 1)[0]
    applied: list[Path] = []
    runs: list[tuple[Any, str, str]] = []
    pending: Any = None
    for fence in FENCE.finditer(text):
        language, body = fence.group(1), fence.group(2)
        if language == "sh":
            command = shlex.split(body.replace("\\\n", " "), comments=True)
            for at, word in enumerate(command):
                if command[at : at + 3] == ["treadle", "workflows", "apply"]:
                    applied.append(ROOT / command[at + 3])
                if word == "--input":
                    pending = read_input(command[at + 1])
        elif pending is not None:
            runs.append((pending, language, body.strip()))
            pending = None
    return applied, runs


def read_input(argument: str) -> Any:
    """`--input` as `treadle run` reads it: JSON, or `@file` with the JSON in the file."""
    if argument.startswith("@"):
        return json.loads((ROOT / argument[1:]).read_text(encoding="utf-8"))
    return json.loads(argument)


def test_the_readme_applies_both_files_and_shows_two_runs() -> None:
    applied, runs = readme_steps()
    assert [path.name for path in applied] == ["score-repo.json", "workflow.json"]
    assert [len(given["repos"]) for given, _, _ in runs] == [5, 0]


async def test_the_example_runs_as_its_readme_says(backend: Backend) -> None:
    engine, worker = engine_on(backend)
    applied, runs = readme_steps()
    for path in applied:
        definition = read_definition_file(path)
        command = CreateWorkflow(
            WORKSPACE, definition.name, definition.document, definition.description or ""
        )
        parent = await engine.create_workflow()(command)
    assert parent.name == "fan-out-fan-in"

    for given, shown_as, shown in runs:
        started = await engine.start_run()(StartRun(WORKSPACE, parent.id, given))
        await worker.run_until_idle()
        async with backend.uow() as uow:
            execution = await uow.executions.get(started.execution.id)
            children = await uow.executions.search(
                WORKSPACE, parent_execution_id=started.execution.id, limit=100
            )

        assert execution is not None and execution.status is ExecutionStatus.COMPLETED
        if shown_as == "json":
            expected = json.loads(shown)
        else:  # the line `treadle run --watch` prints
            expected = json.loads(shown.removeprefix("output "))
            assert shown == f"output {json.dumps(expected)}"
        assert execution.output == expected
        if backend.name == "postgres":  # keys in the order PostgreSQL keeps them
            assert json.dumps(execution.output) == json.dumps(expected)
        assert [child.parent.item_index for child in children] == list(  # type: ignore[union-attr]
            range(len(given["repos"]))
        )
        assert [child.input for child in children] == [{"repo": r} for r in given["repos"]]
        assert all(child.status is ExecutionStatus.COMPLETED for child in children)
