"""`treadle tokens create|list|revoke`: API bearer tokens, scoped to a workspace and a role.

On the database they act on `--workspace` (and `create` makes the workspace if needed: the
first token of an install comes from here). Over the API they act on the token's own
workspace and need an admin token.
"""

from __future__ import annotations

import typer

from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    console,
    guarded,
    new_table,
    short_time,
)
from entrypoints.cli.operations import operations

tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@tokens_app.command("create")
def create(
    workspace: str = WORKSPACE_OPTION,
    role: str = typer.Option("admin", "--role", help="admin, editor or viewer."),
    name: str = typer.Option("cli", "--name", help="A label to recognise the token by."),
) -> None:
    """Create a token (and, on the database, the workspace if it does not exist); the token
    is shown once."""
    from application.use_cases.tokens import parse_role

    guarded(lambda: parse_role(role))
    created = operations().create_token(workspace, name, role)
    typer.echo(
        f"created {created.token.role} token {created.token.id} for workspace"
        f" {created.workspace}; it is shown only now:",
        err=True,
    )
    typer.echo(created.secret)


@tokens_app.command("list")
def list_tokens(workspace: str = WORKSPACE_OPTION) -> None:
    """List the workspace's tokens (never their secrets)."""
    found = operations().list_tokens(workspace)
    if not found:
        typer.echo(f"no tokens in workspace {workspace}")
        return
    table = new_table("id", "name", "role", "created", "revoked")
    for token in found:
        table.add_row(
            token.id,
            token.name,
            token.role,
            short_time(token.created_at),
            short_time(token.revoked_at) if token.revoked_at else "",
        )
    console().print(table)


@tokens_app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="The token's id (from `tokens list`)."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Revoke a token: requests bearing it are refused from now on."""
    revoked = operations().revoke_token(workspace, token_id)
    typer.echo(f"revoked token {revoked}")
