"""`treadle run-many WORKFLOW FILE`: one run per line of a JSON-lines file, started in
transactions of up to 1,000 runs (as `POST /runs` starts them), on the database or, with
TREADLE_URL, over the API."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from application.document_limits import MAX_RUNS, first_refusal
from entrypoints.cli.common import WORKSPACE_OPTION, fail
from entrypoints.cli.operations import operations
from entrypoints.cli.views import RunRequest, StartedRuns

Line = tuple[int, Any]
"""A run's line number in the file, and its input."""


def run_many(
    workflow: str = typer.Argument(..., help="The workflow's name or id."),
    file: str = typer.Argument(
        ..., help="JSON lines, one run's input a line ('-' reads standard input)."
    ),
    key_prefix: str | None = typer.Option(
        None,
        "--key-prefix",
        help="Give the run of line N the idempotency key PREFIX:N, so that sending the"
        " same file again (say, after an interruption) starts nothing twice.",
    ),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Start one run per line of FILE; print the execution ids in the order of the lines."""
    lines = read_lines(file)
    if not lines:
        fail(f"{file} holds no runs: one JSON value (a run's input) a line", 2)
    runs = [RunRequest(value, _key(key_prefix, number)) for number, value in lines]
    created = 0
    with _progress(len(runs)) as progress:
        task = progress.add_task("starting", total=len(runs))

        def started(batch: StartedRuns) -> None:
            nonlocal created
            for execution_id in batch.execution_ids:
                typer.echo(execution_id)
            created += batch.created
            progress.advance(task, len(batch.execution_ids))

        operations().run_many(workspace, workflow, runs, started)
    earlier = len(runs) - created
    summary = f"started {created:,} execution(s)"
    if earlier:
        summary += f"; {earlier:,} run(s) had been started before under their keys"
    typer.echo(summary, err=True)


def read_lines(file: str) -> list[Line]:
    """The inputs of a JSON-lines file (blank lines skipped); exits 2 at the first line
    that is not JSON or holds a value that cannot be stored, before anything starts."""
    if file == "-":
        return parse_lines(file, sys.stdin)
    try:
        with open(file, encoding="utf-8") as opened:
            return parse_lines(file, opened)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}", 2)


def parse_lines(name: str, text: Iterable[str]) -> list[Line]:
    lines: list[Line] = []
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            fail(f"{name}:{number} is not valid JSON: {error.msg}", 2)
        refusal = first_refusal(value, "input")
        if refusal is not None:
            fail(f"{name}:{number}: {refusal.path}: {refusal.message}", 2)
        lines.append((number, value))
    return lines


def _key(prefix: str | None, number: int) -> str | None:
    return None if prefix is None else f"{prefix}:{number}"


def _progress(total: int) -> Progress:
    """A bar on standard error, shown only when the runs take several transactions."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=total <= MAX_RUNS,
    )
