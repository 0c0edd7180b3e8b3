"""`treadle members` in-process against a real database: invitations made and cancelled
there, members who joined by signing in, role changes that keep an admin."""

from __future__ import annotations

import asyncio

from application.people import User
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings
from tests.cli.conftest import Cli
from tests.cli.test_workflows_and_tokens import unique
from tests.support.people import identity


def sign_in(database_url: str, email: str) -> User:
    """A person signing in (through the console, say) on the CLI's database."""

    async def run() -> User:
        settings = Settings.model_validate({"database_url": database_url})
        runtime = await bootstrap(settings)
        try:
            return await runtime.services.sign_in()(identity(email))
        finally:
            await runtime.close()

    return asyncio.run(run())


def test_invite_list_and_cancel_invitations(cli: Cli) -> None:
    workspace = unique("team")

    invited = cli("members", "invite", "Ada@Example.com", "--role", "admin", "-w", workspace)
    other = cli("members", "invite", "bob@example.com", "-w", workspace)
    listed = cli("members", "invitations", "-w", workspace)
    invitation_id = other.stdout.split("(")[1].split(")")[0]
    cancelled = cli("members", "cancel", invitation_id, "-w", workspace)
    again = cli("members", "cancel", invitation_id, "-w", workspace)
    after = cli("members", "invitations", "-w", workspace)

    assert invited.exit_code == 0, invited.output
    assert invited.stdout.startswith("invited ada@example.com as admin (inv")
    assert "bob@example.com as viewer" in other.stdout
    assert "ada@example.com" in listed.stdout and "bob@example.com" in listed.stdout
    assert "treadle CLI" in listed.stdout  # who invited them
    assert cancelled.stdout.strip() == f"cancelled invitation {invitation_id}"
    assert again.exit_code == 1 and "not_found" in again.stderr
    assert "bob@example.com" not in after.stdout and "ada@example.com" in after.stdout


def test_members_join_change_roles_and_keep_an_admin(cli: Cli, cli_database_url: str) -> None:
    workspace = unique("team")
    cli("members", "invite", "ada@example.com", "--role", "admin", "-w", workspace)
    cli("members", "invite", "bob@example.com", "--role", "editor", "-w", workspace)
    empty = cli("members", "list", "-w", workspace)
    ada = sign_in(cli_database_url, "ada@example.com")
    bob = sign_in(cli_database_url, "bob@example.com")

    listed = cli("members", "list", "-w", workspace)
    last_admin = cli("members", "role", ada.id, "viewer", "-w", workspace)
    promoted = cli("members", "role", bob.id, "admin", "-w", workspace)
    removed = cli("members", "remove", ada.id, "-w", workspace)
    after = cli("members", "list", "-w", workspace)
    bad_role = cli("members", "role", bob.id, "owner", "-w", workspace)

    assert "no members yet" in empty.stdout
    assert listed.exit_code == 0, listed.output
    assert ada.id in listed.stdout and bob.id in listed.stdout and "editor" in listed.stdout
    assert last_admin.exit_code == 1 and "(last_admin)" in last_admin.stderr
    assert promoted.stdout.strip() == f"Bob ({bob.id}) is now admin"
    assert removed.stdout.strip() == f"removed member {ada.id}"
    assert ada.id not in after.stdout and bob.id in after.stdout
    assert bad_role.exit_code == 1 and "role must be one of" in bad_role.stderr


def test_whoami_needs_a_server() -> None:
    result = Cli(None)("whoami")

    assert result.exit_code == 2
    assert "talks to a server" in result.stderr
