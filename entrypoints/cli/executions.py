"""`treadle executions list|show|cancel|retry|rerun|signal`: inspect and control executions."""

from __future__ import annotations

import json
from typing import Any

import typer

from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    console,
    fail,
    new_table,
    parse_json_option,
    short_time,
)
from entrypoints.cli.operations import operations
from entrypoints.cli.runs import WATCH_HELP, report_watched
from entrypoints.cli.views import ExecutionRow, error_line

executions_app = typer.Typer(help="Inspect and control executions.", no_args_is_help=True)


def _statuses(values: list[str]) -> list[str]:
    from domain.status import ExecutionStatus

    known = [status.value for status in ExecutionStatus]
    if any(value not in known for value in values):
        fail(f"--status must be one of {', '.join(known)}", 2)
    return values


@executions_app.command("list")
def list_executions(
    workflow: str | None = typer.Option(
        None, "--workflow", help="Only this workflow (name or id)."
    ),
    status: list[str] = typer.Option([], "--status", help="Only these statuses (repeatable)."),
    limit: int = typer.Option(50, min=1, max=1000, help="Most rows to show."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """List executions, newest first."""
    found = operations().list_executions(workspace, workflow, _statuses(status), limit)
    if not found:
        typer.echo("no executions")
        return
    table = new_table("id", "workflow", "version", "status", "created", "finished")
    for execution in found:
        table.add_row(
            execution.id,
            execution.workflow_id,
            str(execution.version),
            execution.status,
            short_time(execution.created_at),
            short_time(execution.finished_at),
        )
    console().print(table)


@executions_app.command("show")
def show(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    events: bool = typer.Option(False, "--events", help="Also print the event timeline."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Show an execution: status, input, output, error and its nodes."""
    from entrypoints.cli.watch import render

    view, timeline = operations().show_execution(workspace, execution_id, events)
    execution = view.execution
    console().print(render(view))
    typer.echo(f"workflow  {execution.workflow_id} version {execution.version}")
    typer.echo(f"created   {short_time(execution.created_at)}")
    typer.echo(f"finished  {short_time(execution.finished_at)}")
    typer.echo(f"input     {_json(execution.input)}")
    typer.echo(f"output    {_json(execution.output)}")
    if execution.error:
        typer.echo(f"error     {error_line(execution.error)}")
    if timeline:
        table = new_table("seq", "time", "type", "node", "attempt")
        for event in timeline:
            table.add_row(
                str(event.seq),
                short_time(event.created_at),
                event.type,
                event.node_id or "",
                str(event.attempt or ""),
            )
        console().print(table)


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def _said(execution: ExecutionRow) -> None:
    requested = " (cancel requested)" if execution.cancel_requested else ""
    typer.echo(f"execution {execution.id} {execution.status}{requested}")


@executions_app.command("cancel")
def cancel(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Cancel an execution (a running node is cancelled at once)."""
    _said(operations().cancel(workspace, execution_id))


@executions_app.command("retry")
def retry(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    watch: bool = typer.Option(False, "--watch", help=WATCH_HELP),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Retry a failed execution from its failed nodes, keeping earlier results."""
    ops = operations()
    retried = ops.retry(workspace, execution_id)
    _said(retried)
    if watch:
        report_watched(ops.watch(workspace, retried.id))


@executions_app.command("rerun")
def rerun(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    watch: bool = typer.Option(False, "--watch", help=WATCH_HELP),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Start a new execution of the same workflow version with the same input."""
    ops = operations()
    started = ops.rerun(workspace, execution_id)
    _said(started)
    if watch:
        report_watched(ops.watch(workspace, started.id))


@executions_app.command("signal")
def signal(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    name: str = typer.Argument(..., help="The signal's name."),
    payload: str | None = typer.Option(None, "--payload", help="The payload as JSON or @file."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Send a signal to an execution (stored even if nothing waits for it yet)."""
    value = parse_json_option(payload, "--payload")
    signal_id = operations().signal(workspace, execution_id, name, value)
    typer.echo(f"signal {signal_id} delivered")
