"""`treadle run WORKFLOW`: start an execution, and with `--watch` follow it to its end."""

from __future__ import annotations

import json
from typing import NoReturn

import typer

from entrypoints.cli.common import WORKSPACE_OPTION, parse_json_option
from entrypoints.cli.operations import operations
from entrypoints.cli.views import ExecutionRow, error_line

WATCH_HELP = (
    "Show the nodes live until the execution ends, then its output; exit 1 unless it completes."
)


def run(
    workflow: str = typer.Argument(..., help="The workflow's name or id."),
    input_json: str | None = typer.Option(
        None, "--input", "-i", help="The execution's input as JSON, or @file.json."
    ),
    watch: bool = typer.Option(False, "--watch", help=WATCH_HELP),
    idempotency_key: str | None = typer.Option(
        None, "--idempotency-key", help="Runs with the same key start one execution."
    ),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Run a workflow with an input."""
    payload = parse_json_option(input_json, "--input")

    def started(execution_id: str) -> None:
        if watch:
            typer.echo(f"started execution {execution_id}")

    execution = operations().run(workspace, workflow, payload, idempotency_key, watch, started)
    if not watch:
        typer.echo(execution.id)
        return
    report_watched(execution)


def report_watched(execution: ExecutionRow) -> NoReturn:
    """End a `--watch`: the output (and the error on stderr); exit 0 only if it completed."""
    typer.echo(f"output {json.dumps(execution.output, default=str)}")
    if execution.error:
        typer.echo(error_line(execution.error), err=True)
    raise typer.Exit(0 if execution.status == "completed" else 1)
