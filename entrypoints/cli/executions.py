"""`treadle executions list|show|cancel|retry|signal`: inspect and control executions."""

from __future__ import annotations

import json
from typing import Any

import typer

from application.errors import NotFound
from application.records import StoredEvent
from application.use_cases.cancel_execution import CancelExecution
from application.use_cases.deliver_signal import DeliverSignal
from application.use_cases.retry_execution import RetryExecution
from domain.execution import Execution
from domain.status import ExecutionStatus
from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    console,
    fail,
    find_workflow,
    find_workspace,
    new_table,
    parse_json_option,
    short_time,
    with_runtime,
)
from entrypoints.cli.watch import Snapshot, error_line, read_snapshot, render
from entrypoints.runtime import Runtime

executions_app = typer.Typer(help="Inspect and control executions.", no_args_is_help=True)


def _statuses(values: list[str]) -> list[ExecutionStatus]:
    try:
        return [ExecutionStatus(value) for value in values]
    except ValueError:
        known = ", ".join(status.value for status in ExecutionStatus)
        fail(f"--status must be one of {known}", 2)


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
    statuses = _statuses(status)

    async def load(runtime: Runtime) -> list[Execution]:
        space = await find_workspace(runtime, workspace)
        workflow_id = (await find_workflow(runtime, space.id, workflow)).id if workflow else None
        async with runtime.uow_factory() as uow:
            return await uow.executions.search(
                space.id, workflow_id=workflow_id, statuses=statuses, limit=limit
            )

    found = with_runtime(load)
    if not found:
        typer.echo("no executions")
        return
    table = new_table("id", "workflow", "version", "status", "created", "finished")
    for execution in found:
        table.add_row(
            execution.id,
            execution.workflow_id,
            str(execution.version),
            execution.status.value,
            short_time(execution.created_at),
            short_time(execution.finished_at),
        )
    console().print(table)


async def _owned_snapshot(runtime: Runtime, workspace: str, execution_id: str) -> Snapshot:
    space = await find_workspace(runtime, workspace)
    snapshot = await read_snapshot(runtime, execution_id)
    if snapshot.execution.workspace_id != space.id:
        raise NotFound(f"no execution {execution_id} in this workspace")
    return snapshot


@executions_app.command("show")
def show(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    events: bool = typer.Option(False, "--events", help="Also print the event timeline."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Show an execution: status, input, output, error and its nodes."""

    async def load(runtime: Runtime) -> tuple[Snapshot, list[StoredEvent]]:
        snapshot = await _owned_snapshot(runtime, workspace, execution_id)
        if not events:
            return snapshot, []
        async with runtime.uow_factory() as uow:
            return snapshot, await uow.events.search(execution_id, limit=10_000)

    snapshot, timeline = with_runtime(load)
    execution = snapshot.execution
    console().print(render(snapshot))
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


@executions_app.command("cancel")
def cancel(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Cancel an execution (a running node is cancelled at once)."""

    async def act(runtime: Runtime) -> Execution:
        space = await find_workspace(runtime, workspace)
        return await runtime.engine.cancel_execution()(CancelExecution(space.id, execution_id))

    execution = with_runtime(act)
    requested = " (cancel requested)" if execution.cancel_requested else ""
    typer.echo(f"execution {execution.id} {execution.status.value}{requested}")


@executions_app.command("retry")
def retry(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Retry a failed execution from its failed nodes, keeping earlier results."""

    async def act(runtime: Runtime) -> Execution:
        space = await find_workspace(runtime, workspace)
        return await runtime.engine.retry_execution()(RetryExecution(space.id, execution_id))

    execution = with_runtime(act)
    typer.echo(f"execution {execution.id} {execution.status.value}")


@executions_app.command("signal")
def signal(
    execution_id: str = typer.Argument(..., help="The execution's id."),
    name: str = typer.Argument(..., help="The signal's name."),
    payload: str | None = typer.Option(None, "--payload", help="The payload as JSON or @file."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Send a signal to an execution (stored even if nothing waits for it yet)."""
    value = parse_json_option(payload, "--payload")

    async def act(runtime: Runtime) -> str:
        space = await find_workspace(runtime, workspace)
        command = DeliverSignal(space.id, execution_id, name, value)
        return (await runtime.engine.deliver_signal()(command)).id

    typer.echo(f"signal {with_runtime(act)} delivered")
