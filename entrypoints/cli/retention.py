"""`treadle retention show|set`: how long the workspace keeps its history.

On the database they act on `--workspace`; over the API on the token's workspace (any
role shows, an admin token sets). The workers apply the policy on their next pass.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

import typer

from domain.retention import RetentionPolicy
from entrypoints.cli.common import WORKSPACE_OPTION, console, new_table
from entrypoints.cli.operations import operations

T = TypeVar("T")

retention_app = typer.Typer(
    help="Show or set how long executions and audit entries are kept.", no_args_is_help=True
)


def _span(days: int | None, unit: str = "days") -> str:
    return "as finished ones" if days is None else f"{days} {unit}"


def print_policy(policy: RetentionPolicy) -> None:
    """The policy as a two-column table."""
    table = new_table("kept", "for")
    table.add_row("finished executions", _span(policy.keep_finished_days))
    table.add_row("failed, timed out, cancelled", _span(policy.keep_failed_days))
    table.add_row("successful executions", _span(policy.keep_succeeded_hours, "hours"))
    table.add_row("audit entries", _span(policy.keep_audit_days))
    console().print(table)


@retention_app.command("show")
def show(workspace: str = WORKSPACE_OPTION) -> None:
    """Show the workspace's retention policy (the defaults until one is set)."""
    print_policy(operations().get_retention(workspace))


@retention_app.command("set")
def set_policy(
    workspace: str = WORKSPACE_OPTION,
    finished_days: int | None = typer.Option(
        None, "--finished-days", help="Days finished executions are kept (1-3650)."
    ),
    failed_days: int | None = typer.Option(
        None, "--failed-days", help="Days failed, timed out and cancelled ones are kept."
    ),
    succeeded_hours: int | None = typer.Option(
        None, "--succeeded-hours", help="Keep successful executions only this many hours."
    ),
    clear_succeeded_hours: bool = typer.Option(
        False, "--clear-succeeded-hours", help="Keep successful executions as finished ones."
    ),
    audit_days: int | None = typer.Option(
        None, "--audit-days", help="Days audit entries are kept (7-3650)."
    ),
) -> None:
    """Change the values given; the others keep their current setting."""
    ops = operations()
    current = ops.get_retention(workspace)
    changed = replace(
        current,
        keep_finished_days=_given(finished_days, current.keep_finished_days),
        keep_failed_days=_given(failed_days, current.keep_failed_days),
        keep_succeeded_hours=None
        if clear_succeeded_hours
        else _given(succeeded_hours, current.keep_succeeded_hours),
        keep_audit_days=_given(audit_days, current.keep_audit_days),
    )
    saved = ops.set_retention(workspace, changed)
    typer.echo(f"retention policy of workspace {workspace} set", err=True)
    print_policy(saved)


def _given(value: T | None, current: T) -> T:
    """The value a flag gave, or the current one when the flag was left out."""
    return current if value is None else value
