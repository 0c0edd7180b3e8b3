"""`treadle secrets` and `treadle schedules`: managed over the API only (TREADLE_URL and
TREADLE_TOKEN, or `treadle --url ... --token ...`)."""

from __future__ import annotations

import sys

import typer

from entrypoints.cli.common import console, fail, new_table, parse_json_option, short_time
from entrypoints.cli.operations import remote_operations
from entrypoints.cli.views import ScheduleRow

secrets_app = typer.Typer(
    help="List, set and delete the workspace's secrets (over the API).", no_args_is_help=True
)
schedules_app = typer.Typer(
    help="List, create, enable, disable and delete schedules (over the API).",
    no_args_is_help=True,
)


def read_secret(prompt: str) -> str:
    """A secret value from standard input when it is piped (one trailing newline dropped),
    else typed at a prompt without echoing it; exits 2 when it is empty."""
    if sys.stdin.isatty():
        value = typer.prompt(prompt, hide_input=True)
    else:
        value = sys.stdin.read().removesuffix("\n")
    if not value:
        fail("the secret's value is empty", 2)
    return str(value)


@secrets_app.command("list")
def list_secrets() -> None:
    """List the secrets' names and dates (never their values)."""
    found = remote_operations("secrets list").list_secrets()
    if not found:
        typer.echo("no secrets")
        return
    table = new_table("name", "created", "updated")
    for secret in found:
        table.add_row(secret.name, short_time(secret.created_at), short_time(secret.updated_at))
    console().print(table)


@secrets_app.command("set")
def set_secret(name: str = typer.Argument(..., help="The secret's name.")) -> None:
    """Store a secret, or replace its value; the value is read from standard input when it
    is piped, else asked for without echoing it."""
    ops = remote_operations("secrets set")
    created = ops.set_secret(name, read_secret(f"value of {name}"))
    typer.echo(f"{'created' if created else 'updated'} secret {name}")


@secrets_app.command("delete")
def delete_secret(name: str = typer.Argument(..., help="The secret's name.")) -> None:
    """Delete a secret: nodes that read it fail from now on."""
    remote_operations("secrets delete").delete_secret(name)
    typer.echo(f"deleted secret {name}")


def _print_schedules(rows: list[ScheduleRow]) -> None:
    table = new_table("id", "workflow", "cron", "timezone", "enabled", "next", "last")
    for row in rows:
        table.add_row(
            row.id,
            row.workflow_id,
            row.cron,
            row.timezone,
            "yes" if row.enabled else "no",
            short_time(row.next_fire_at),
            short_time(row.last_fired_at),
        )
    console().print(table)


@schedules_app.command("list")
def list_schedules(
    workflow: str | None = typer.Option(None, "--workflow", help="Only this workflow."),
) -> None:
    """List the schedules."""
    found = remote_operations("schedules list").list_schedules(workflow)
    if not found:
        typer.echo("no schedules")
        return
    _print_schedules(found)


@schedules_app.command("create")
def create_schedule(
    workflow: str = typer.Argument(..., help="The workflow's name or id."),
    cron: str = typer.Argument(..., help='A cron expression, e.g. "0 * * * *".'),
    timezone: str = typer.Option("UTC", "--timezone", help="The cron's time zone."),
    input_json: str | None = typer.Option(
        None, "--input", "-i", help="Each run's input as JSON, or @file.json."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Create it switched off."),
) -> None:
    """Run WORKFLOW on a cron schedule."""
    payload = parse_json_option(input_json, "--input")
    ops = remote_operations("schedules create")
    row = ops.create_schedule(workflow, cron, timezone, payload, not disabled)
    typer.echo(f"created schedule {row.id} (next run {short_time(row.next_fire_at)})")


@schedules_app.command("enable")
def enable_schedule(schedule_id: str = typer.Argument(..., help="The schedule's id.")) -> None:
    """Switch a schedule on."""
    row = remote_operations("schedules enable").switch_schedule(schedule_id, True)
    typer.echo(f"schedule {row.id} enabled (next run {short_time(row.next_fire_at)})")


@schedules_app.command("disable")
def disable_schedule(schedule_id: str = typer.Argument(..., help="The schedule's id.")) -> None:
    """Switch a schedule off."""
    row = remote_operations("schedules disable").switch_schedule(schedule_id, False)
    typer.echo(f"schedule {row.id} disabled")


@schedules_app.command("delete")
def delete_schedule(schedule_id: str = typer.Argument(..., help="The schedule's id.")) -> None:
    """Delete a schedule."""
    remote_operations("schedules delete").delete_schedule(schedule_id)
    typer.echo(f"deleted schedule {schedule_id}")
