"""`treadle test [PATHS]`: run the `*.test.yaml` workflow tests found under PATHS.

No database and no network: each case runs on an in-memory engine with a fake clock,
and its http_request and ai_prompt nodes are answered from the case's script. The
workflows the one under test starts are read from the files its `workflows:` lists
(`application.workflow_tests` drives the engine; `containers.workflow_test_engine` wires
it).
"""

from __future__ import annotations

import asyncio
import os
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from entrypoints.cli.common import console
from entrypoints.document_text import UnreadableDocument, read_json, read_yaml

if TYPE_CHECKING:
    from application.workflow_tests import CaseResult, NamedWorkflow

TEST_FILE_SUFFIX = ".test.yaml"
NO_TESTS_EXIT = 5
"""The exit status when no test was found (pytest's)."""
_SKIPPED_DIRECTORIES = {"node_modules", "__pycache__"}
_WORKFLOW_KEYS = ("name", "description")


class _FileProblem(Exception):
    """A test file or the workflow it names cannot be used; `str()` says why."""


@dataclass(frozen=True)
class FileResult:
    path: Path
    cases: list[CaseResult]
    seconds: float


def register(app: typer.Typer) -> None:
    app.command("test")(run_tests)


def run_tests(
    paths: list[Path] = typer.Argument(
        None, help="Test files, or directories to search for *.test.yaml (default: .)."
    ),
    junit_xml: Path | None = typer.Option(
        None, "--junit-xml", help="Also write the results to FILE as JUnit XML."
    ),
) -> None:
    """Run workflow tests (*.test.yaml) offline: in memory, on a fake clock, no network."""
    out = console()
    files = sorted(set(find_test_files(paths or [Path(".")])))
    if not files:
        out.print(Text(f"no *{TEST_FILE_SUFFIX} files found"))
        raise typer.Exit(NO_TESTS_EXIT)
    began = time.monotonic()
    results = [run_file(path, out) for path in files]
    elapsed = time.monotonic() - began
    cases = [case for result in results for case in result.cases]
    failed = sum(not case.passed for case in cases)
    passed = len(cases) - failed
    parts = [f"{passed} passed"] + ([f"{failed} failed"] if failed else [])
    style = "bold red" if failed else "bold green"
    out.print(Text(f"{', '.join(parts)} in {elapsed:.2f}s", style=style))
    if junit_xml is not None:
        write_junit_xml(junit_xml, results, elapsed)
    if failed:
        raise typer.Exit(1)


def find_test_files(paths: list[Path]) -> Iterator[Path]:
    """The files named, and the `*.test.yaml` files under the directories named."""
    for path in paths:
        if path.is_dir():
            for root, directories, names in os.walk(path):
                directories[:] = sorted(
                    d
                    for d in directories
                    if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES
                )
                for name in names:
                    if name.endswith(TEST_FILE_SUFFIX):
                        yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise typer.BadParameter(f"{path} does not exist", param_hint="PATHS")


def run_file(path: Path, out: Console) -> FileResult:
    """Run one test file's cases, printing a line per case (and why, when it failed)."""
    from application.workflow_tests import CaseResult

    began = time.monotonic()
    try:
        cases = _run_cases(path)
    except _FileProblem as problem:
        cases = [CaseResult("(test file)", [str(problem)])]
    for case in cases:
        _print_case(out, path, case)
    return FileResult(path, cases, time.monotonic() - began)


def _run_cases(path: Path) -> list[CaseResult]:
    # Here, not above: the engine is loaded only when tests run, not for `treadle --help`.
    from application.workflow_tests import TestFileError, parse_test_file, run_test_file
    from entrypoints.containers import workflow_test_engine

    try:
        test_file = parse_test_file(read_yaml(_read(path)))
    except (UnreadableDocument, TestFileError) as error:
        raise _FileProblem(f"{path}: {error}") from None
    workflow_path = path.parent / test_file.workflow
    name, document = _read_workflow(workflow_path)
    children = [_named_workflow(path.parent / child) for child in test_file.workflows]
    return asyncio.run(run_test_file(test_file, name, document, workflow_test_engine, children))


def _named_workflow(path: Path) -> NamedWorkflow:
    from application.workflow_tests import NamedWorkflow

    return NamedWorkflow(*_read_workflow(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise _FileProblem(f"cannot read {path}: {error.strerror}") from None


def _read_workflow(path: Path) -> tuple[str, dict[str, Any]]:
    """The workflow's name and definition document, read as `treadle workflows apply` does."""
    text = _read(path)
    try:
        raw = read_json(text) if path.suffix.lower() == ".json" else read_yaml(text)
    except UnreadableDocument as error:
        raise _FileProblem(f"{path}: {error}") from None
    if not isinstance(raw, dict):
        raise _FileProblem(f"{path}: a workflow file holds an object with `nodes` and `edges`")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise _FileProblem(f"{path}: `name` must be a non-empty string")
    return name.strip(), {k: v for k, v in raw.items() if k not in _WORKFLOW_KEYS}


def _print_case(out: Console, path: Path, case: CaseResult) -> None:
    line = Text()
    line.append(
        "PASS" if case.passed else "FAIL", style="bold green" if case.passed else "bold red"
    )
    line.append(f"  {path}::{case.name}")
    out.print(line)
    for failure in case.failures:
        out.print(_failure_text(failure))


def _failure_text(failure: str) -> Text:
    text = Text()
    for line in failure.splitlines():
        style = ""
        if line.startswith("+") and not line.startswith("+++"):
            style = "green"
        elif line.startswith("-") and not line.startswith("---"):
            style = "red"
        text.append(f"    {line}\n", style=style)
    text.rstrip()
    return text


def write_junit_xml(path: Path, results: list[FileResult], seconds: float) -> None:
    cases = [case for result in results for case in result.cases]
    failures = sum(not case.passed for case in cases)
    suites = ElementTree.Element("testsuites")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="treadle test",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        time=f"{seconds:.3f}",
    )
    for result in results:
        share = result.seconds / max(len(result.cases), 1)
        for case in result.cases:
            element = ElementTree.SubElement(
                suite, "testcase", classname=str(result.path), name=case.name, time=f"{share:.3f}"
            )
            if not case.passed:
                failure = ElementTree.SubElement(element, "failure", message=case.failures[0][:200])
                failure.text = "\n\n".join(case.failures)
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
