"""`treadle members list|invite|role|remove|invitations|cancel`: the people of a workspace,
and `treadle whoami`: who the API token in use is.

On the database they act on `--workspace` (and `invite` makes the workspace if needed, as
`tokens create` does: an install's first admin can be invited from here). Over the API
they act on the caller's workspace; every change needs an admin.
"""

from __future__ import annotations

import typer

from entrypoints.cli.common import WORKSPACE_OPTION, console, guarded, new_table, short_time
from entrypoints.cli.operations import operations, remote_operations

members_app = typer.Typer(
    help="List, invite, change the role of and remove a workspace's people.",
    no_args_is_help=True,
)

ROLE_HELP = "admin, editor or viewer."


def _check_role(role: str) -> None:
    """Refuse a role that does not exist before anything is asked of the server."""
    from application.use_cases.tokens import parse_role

    guarded(lambda: parse_role(role))


@members_app.command("list")
def list_members(workspace: str = WORKSPACE_OPTION) -> None:
    """List the workspace's members and their roles."""
    found = operations().list_members(workspace)
    if not found:
        typer.echo("no members yet: invite someone with `treadle members invite EMAIL`")
        return
    table = new_table("user", "name", "email", "role", "joined", "added by")
    for member in found:
        table.add_row(
            member.user_id,
            member.display_name,
            member.email or "",
            member.role,
            short_time(member.joined_at),
            member.added_by,
        )
    console().print(table)


@members_app.command("invite")
def invite(
    email: str = typer.Argument(..., help="The email they will sign in with."),
    role: str = typer.Option("viewer", "--role", help=ROLE_HELP),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Invite an email: they join with the role when they first sign in with it. Inviting
    an email again replaces its invitation."""
    _check_role(role)
    invitation = operations().invite(workspace, email, role)
    typer.echo(
        f"invited {invitation.email} as {invitation.role} ({invitation.id}); they join"
        " when they first sign in with that email"
    )


@members_app.command("invitations")
def list_invitations(workspace: str = WORKSPACE_OPTION) -> None:
    """List the invitations waiting for a first sign-in."""
    found = operations().list_invitations(workspace)
    if not found:
        typer.echo("no pending invitations")
        return
    table = new_table("id", "email", "role", "invited by", "invited")
    for invitation in found:
        table.add_row(
            invitation.id,
            invitation.email,
            invitation.role,
            invitation.invited_by,
            short_time(invitation.created_at),
        )
    console().print(table)


@members_app.command("cancel")
def cancel(
    invitation_id: str = typer.Argument(..., help="The invitation's id (from `invitations`)."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Cancel an invitation: its email joins nothing when it signs in."""
    operations().cancel_invitation(workspace, invitation_id)
    typer.echo(f"cancelled invitation {invitation_id}")


@members_app.command("role")
def change_role(
    user_id: str = typer.Argument(..., help="The member's user id (from `members list`)."),
    role: str = typer.Argument(..., help=ROLE_HELP),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Give a member another role (the workspace's last admin stays one)."""
    _check_role(role)
    member = operations().change_role(workspace, user_id, role)
    typer.echo(f"{member.display_name} ({member.user_id}) is now {member.role}")


@members_app.command("remove")
def remove(
    user_id: str = typer.Argument(..., help="The member's user id (from `members list`)."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Remove a member from the workspace (not its last admin); their API tokens stay."""
    operations().remove_member(workspace, user_id)
    typer.echo(f"removed member {user_id}")


def whoami() -> None:
    """Show who the API token (or person) in use is, its workspace and role."""
    me = remote_operations("whoami").whoami()
    typer.echo(f"{me.kind} {me.name} ({me.id})")
    typer.echo(f"workspace {me.workspace}, role {me.role}")
    for name, role in me.others:
        typer.echo(f"also in workspace {name}, role {role}")
