"""`treadle triggers`: webhook triggers, managed over the API only (TREADLE_URL and
TREADLE_TOKEN, or `treadle --url ... --token ...`).

A trigger's URL is built from the address the API is reached at, and its secret is
encrypted with the server's key: both belong to a server, so there is no database mode.
Options left out of `create` take the API's defaults; left out of `update`, they stay.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import typer

from entrypoints.cli.common import console, fail, new_table, parse_json_option, short_time
from entrypoints.cli.operations import remote_operations
from entrypoints.cli.remote_commands import read_secret
from entrypoints.cli.views import TriggerRow

triggers_app = typer.Typer(
    help="List, show, create, update, enable, disable and delete webhook triggers, and list"
    " their deliveries (over the API).",
    no_args_is_help=True,
)

Verification = Literal["none", "header_secret", "github", "stripe", "hmac_sha256"]
Respond = Literal["accepted", "wait"]

# The options `create` and `update` share; None (or no --header) means "not given".
NAME = typer.Option(None, "--name", help="A label for the trigger.")
VERIFICATION = typer.Option(
    None,
    "--verification",
    help="none, header_secret, github, stripe or hmac_sha256 (create's default: none).",
)
SECRET_STDIN = typer.Option(
    False,
    "--secret-stdin",
    help="Read the shared secret from standard input (or a prompt that does not echo it);"
    " without, a trigger that verifies gets a secret made by the server, shown once.",
)
VERIFY_HEADER = typer.Option(None, "--verify-header", help="The header carrying the secret.")
TOLERANCE = typer.Option(
    None, "--tolerance-seconds", help="How old a Stripe signature may be (default 300)."
)
DELIVERY_ID_HEADER = typer.Option(
    None, "--delivery-id-header", help="A header holding the delivery id (deduplication)."
)
DELIVERY_ID_PATH = typer.Option(
    None, "--delivery-id-path", help="A dotted path to the delivery id in the JSON body."
)
HEADERS = typer.Option(
    [], "--header", help="A request header to pass into the run's input (repeatable)."
)
INPUT = typer.Option(
    None,
    "--input",
    "-i",
    help="The run's input template as JSON, or @file.json (null: body, headers and query).",
)
RESPOND = typer.Option(
    None, "--respond", help="accepted (answer 202 at once, the default) or wait."
)
RESPOND_NODE = typer.Option(
    None, "--respond-node", help="With --respond wait: the node whose output is the answer."
)
WAIT_SECONDS = typer.Option(None, "--wait-seconds", help="With --respond wait: at most this.")
MAX_BODY_BYTES = typer.Option(None, "--max-body-bytes", help="The largest body accepted.")
RATE_LIMIT = typer.Option(None, "--rate-limit", help="Requests per second per API process.")


def _settings(
    name: str | None,
    verification: str | None,
    secret_stdin: bool,
    verify_header: str | None,
    tolerance_seconds: int | None,
    delivery_id_header: str | None,
    delivery_id_path: str | None,
    headers: list[str],
    input_json: str | None,
    respond: str | None,
    respond_node: str | None,
    wait_seconds: float | None,
    max_body_bytes: int | None,
    rate_limit: float | None,
) -> dict[str, Any]:
    """The API fields the options give, and only those."""
    given: dict[str, Any] = {
        "name": name,
        "verification": verification,
        "verify_header": verify_header,
        "tolerance_seconds": tolerance_seconds,
        "delivery_id_header": delivery_id_header,
        "delivery_id_path": delivery_id_path,
        "respond": respond,
        "respond_node": respond_node,
        "wait_seconds": wait_seconds,
        "max_body_bytes": max_body_bytes,
        "rate_limit": rate_limit,
    }
    settings = {field: value for field, value in given.items() if value is not None}
    if headers:
        settings["headers"] = headers
    if input_json is not None:
        # Given as `null`, the input goes back to the default {"body", "headers", "query"}.
        settings["input"] = parse_json_option(input_json, "--input")
    if secret_stdin:
        settings["secret"] = read_secret("trigger secret")
    return settings


def _print_saved(verb: str, trigger: TriggerRow) -> None:
    """What `create` and `update` print: the id, the URL and a secret the server made."""
    typer.echo(f"{verb} trigger {trigger.id}" + (f" ({trigger.name})" if trigger.name else ""))
    typer.echo(f"url     {trigger.url}")
    if trigger.secret:
        typer.echo("the secret is shown only now:", err=True)
        typer.echo(f"secret  {trigger.secret}")


@triggers_app.command("list")
def list_triggers(
    workflow: str | None = typer.Option(None, "--workflow", help="Only this workflow."),
) -> None:
    """List the webhook triggers."""
    found = remote_operations("triggers list").list_triggers(workflow)
    if not found:
        typer.echo("no triggers")
        return
    table = new_table("id", "name", "workflow", "verification", "respond", "enabled")
    for trigger in found:
        table.add_row(
            trigger.id,
            trigger.name,
            trigger.workflow_id,
            trigger.verification,
            trigger.respond,
            "yes" if trigger.enabled else "no",
        )
    console().print(table)


@triggers_app.command("show")
def show_trigger(trigger_id: str = typer.Argument(..., help="The trigger's id.")) -> None:
    """Show a trigger's settings and URL (never its secret)."""
    trigger = remote_operations("triggers show").get_trigger(trigger_id)
    for label, value in _described(trigger):
        typer.echo(f"{label:<13} {value}")


def _described(trigger: TriggerRow) -> list[tuple[str, str]]:
    respond = trigger.respond
    if trigger.respond == "wait":
        node = f" for node {trigger.respond_node}" if trigger.respond_node else ""
        respond = f"wait up to {trigger.wait_seconds:g} s{node}"
    return [
        ("id", trigger.id),
        ("name", trigger.name or "-"),
        ("workflow", trigger.workflow_id),
        ("enabled", "yes" if trigger.enabled else "no"),
        ("url", trigger.url),
        ("verification", trigger.verification),
        ("secret", "set" if trigger.has_secret else "none"),
        ("verify header", trigger.verify_header or "-"),
        ("tolerance", f"{trigger.tolerance_seconds} s"),
        ("delivery id", trigger.delivery_id_header or trigger.delivery_id_path or "-"),
        ("headers", ", ".join(trigger.headers) or "-"),
        ("input", json.dumps(trigger.input, default=str)),
        ("respond", respond),
        ("max body", f"{trigger.max_body_bytes:,} bytes"),
        ("rate limit", f"{trigger.rate_limit:g}/s"),
        ("created", short_time(trigger.created_at)),
        ("updated", short_time(trigger.updated_at)),
    ]


@triggers_app.command("create")
def create_trigger(
    workflow: str = typer.Argument(..., help="The workflow's name or id."),
    name: str | None = NAME,
    verification: Verification | None = VERIFICATION,
    secret_stdin: bool = SECRET_STDIN,
    verify_header: str | None = VERIFY_HEADER,
    tolerance_seconds: int | None = TOLERANCE,
    delivery_id_header: str | None = DELIVERY_ID_HEADER,
    delivery_id_path: str | None = DELIVERY_ID_PATH,
    headers: list[str] = HEADERS,
    input_json: str | None = INPUT,
    respond: Respond | None = RESPOND,
    respond_node: str | None = RESPOND_NODE,
    wait_seconds: float | None = WAIT_SECONDS,
    max_body_bytes: int | None = MAX_BODY_BYTES,
    rate_limit: float | None = RATE_LIMIT,
    disabled: bool = typer.Option(False, "--disabled", help="Create it switched off."),
) -> None:
    """Create a webhook trigger: each POST to its URL starts a run of WORKFLOW."""
    settings = _settings(
        name,
        verification,
        secret_stdin,
        verify_header,
        tolerance_seconds,
        delivery_id_header,
        delivery_id_path,
        headers,
        input_json,
        respond,
        respond_node,
        wait_seconds,
        max_body_bytes,
        rate_limit,
    )
    if disabled:
        settings["enabled"] = False
    created = remote_operations("triggers create").create_trigger(workflow, settings)
    _print_saved("created", created)


@triggers_app.command("update")
def update_trigger(
    trigger_id: str = typer.Argument(..., help="The trigger's id."),
    name: str | None = NAME,
    verification: Verification | None = VERIFICATION,
    secret_stdin: bool = SECRET_STDIN,
    verify_header: str | None = VERIFY_HEADER,
    tolerance_seconds: int | None = TOLERANCE,
    delivery_id_header: str | None = DELIVERY_ID_HEADER,
    delivery_id_path: str | None = DELIVERY_ID_PATH,
    headers: list[str] = HEADERS,
    input_json: str | None = INPUT,
    respond: Respond | None = RESPOND,
    respond_node: str | None = RESPOND_NODE,
    wait_seconds: float | None = WAIT_SECONDS,
    max_body_bytes: int | None = MAX_BODY_BYTES,
    rate_limit: float | None = RATE_LIMIT,
) -> None:
    """Change the settings given (only those); --header replaces the whole list."""
    changes = _settings(
        name,
        verification,
        secret_stdin,
        verify_header,
        tolerance_seconds,
        delivery_id_header,
        delivery_id_path,
        headers,
        input_json,
        respond,
        respond_node,
        wait_seconds,
        max_body_bytes,
        rate_limit,
    )
    if not changes:
        fail("nothing to change: give at least one option (see --help)", 2)
    updated = remote_operations("triggers update").update_trigger(trigger_id, changes)
    _print_saved("updated", updated)


@triggers_app.command("enable")
def enable_trigger(trigger_id: str = typer.Argument(..., help="The trigger's id.")) -> None:
    """Switch a trigger on."""
    trigger = remote_operations("triggers enable").switch_trigger(trigger_id, True)
    typer.echo(f"trigger {trigger.id} enabled")


@triggers_app.command("disable")
def disable_trigger(trigger_id: str = typer.Argument(..., help="The trigger's id.")) -> None:
    """Switch a trigger off: its URL answers 404 until it is enabled again."""
    trigger = remote_operations("triggers disable").switch_trigger(trigger_id, False)
    typer.echo(f"trigger {trigger.id} disabled")


@triggers_app.command("delete")
def delete_trigger(trigger_id: str = typer.Argument(..., help="The trigger's id.")) -> None:
    """Delete a trigger: its URL answers 404 from now on."""
    remote_operations("triggers delete").delete_trigger(trigger_id)
    typer.echo(f"deleted trigger {trigger_id}")


@triggers_app.command("deliveries")
def list_deliveries(
    trigger_id: str = typer.Argument(..., help="The trigger's id."),
    limit: int = typer.Option(20, min=1, max=100, help="Most rows to show, newest first."),
) -> None:
    """List a trigger's latest deliveries: when, the status answered, the execution."""
    found = remote_operations("triggers deliveries").list_deliveries(trigger_id, limit)
    if not found:
        typer.echo("no deliveries")
        return
    table = new_table("received", "status", "execution", "delivery id", "error")
    for delivery in found:
        table.add_row(
            short_time(delivery.received_at),
            str(delivery.status_code),
            delivery.execution_id or "-",
            delivery.delivery_id or "-",
            delivery.error_code or "",
        )
    console().print(table)
