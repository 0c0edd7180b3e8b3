"""`treadle run WORKFLOW`: start an execution, and with `--watch` follow it to its end."""

from __future__ import annotations

import json

import typer

from application.use_cases.start_run import StartRun
from domain.execution import Execution
from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    find_workflow,
    find_workspace,
    parse_json_option,
    with_runtime,
)
from entrypoints.cli.watch import error_line, outcome_exit_code, watch_live
from entrypoints.runtime import Runtime


def run(
    workflow: str = typer.Argument(..., help="The workflow's name or id."),
    input_json: str | None = typer.Option(
        None, "--input", "-i", help="The execution's input as JSON, or @file.json."
    ),
    watch: bool = typer.Option(
        False,
        "--watch",
        help="Show the nodes live until the execution ends, then its output;"
        " exit 1 unless it completes.",
    ),
    idempotency_key: str | None = typer.Option(
        None, "--idempotency-key", help="Runs with the same key start one execution."
    ),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Run a workflow with an input."""
    payload = parse_json_option(input_json, "--input")

    async def start(runtime: Runtime) -> Execution:
        space = await find_workspace(runtime, workspace)
        found = await find_workflow(runtime, space.id, workflow)
        command = StartRun(space.id, found.id, payload, idempotency_key=idempotency_key)
        started = await runtime.engine.start_run()(command)
        if not watch:
            return started.execution
        typer.echo(f"started execution {started.execution.id}")
        return await watch_live(runtime, started.execution.id)

    execution = with_runtime(start)
    if not watch:
        typer.echo(execution.id)
        return
    typer.echo(f"output {json.dumps(execution.output, default=str)}")
    if execution.error:
        typer.echo(error_line(execution.error), err=True)
    raise typer.Exit(outcome_exit_code(execution))
