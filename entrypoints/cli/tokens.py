"""`treadle tokens create|list|revoke`: API bearer tokens, scoped to a workspace and a role."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from application.records import ApiToken
from application.use_cases.tokens import (
    CreatedToken,
    CreateToken,
    RevokeToken,
    RevokeTokenHandler,
    parse_role,
)
from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    console,
    ensure_workspace,
    find_workspace,
    guarded,
    new_table,
    short_time,
    with_runtime,
)

if TYPE_CHECKING:
    from entrypoints.runtime import Runtime

tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@tokens_app.command("create")
def create(
    workspace: str = WORKSPACE_OPTION,
    role: str = typer.Option("admin", "--role", help="admin, editor or viewer."),
    name: str = typer.Option("cli", "--name", help="A label to recognise the token by."),
) -> None:
    """Create a token (and the workspace if it does not exist); the token is shown once."""
    guarded(lambda: parse_role(role))

    async def act(runtime: Runtime) -> CreatedToken:
        space = await ensure_workspace(runtime, workspace)
        return await runtime.services.create_token()(CreateToken(space.id, name, role))

    created = with_runtime(act)
    typer.echo(
        f"created {created.record.role} token {created.record.id} for workspace {workspace};"
        " it is shown only now:",
        err=True,
    )
    typer.echo(created.secret)


@tokens_app.command("list")
def list_tokens(workspace: str = WORKSPACE_OPTION) -> None:
    """List the workspace's tokens (never their secrets)."""

    async def load(runtime: Runtime) -> list[ApiToken]:
        space = await find_workspace(runtime, workspace)
        async with runtime.uow_factory() as uow:
            return await uow.tokens.search(space.id)

    found = with_runtime(load)
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

    async def act(runtime: Runtime) -> ApiToken:
        space = await find_workspace(runtime, workspace)
        handler = RevokeTokenHandler(runtime.uow_factory, runtime.clock)
        return await handler(RevokeToken(space.id, token_id))

    revoked = with_runtime(act)
    typer.echo(f"revoked token {revoked.id}")
