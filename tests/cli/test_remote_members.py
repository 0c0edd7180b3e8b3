"""`treadle members` and `treadle whoami` over the API: a real uvicorn serving the app on
127.0.0.1 over the memory runtime (see test_remote)."""

from __future__ import annotations

from tests.cli.test_remote import invoke, remote_cli
from tests.client.conftest import Served
from tests.support.people import PERSON_PREFIX, accept_people, join


async def test_members_over_the_api(served: Served) -> None:
    services = served.runtime.services
    ada = await join(services, "workspace-a", "ada@example.com", "admin")
    bob = await join(services, "workspace-a", "bob@example.com", "editor")
    cli = remote_cli(served)

    invited = await invoke(cli, "members", "invite", "cy@example.com", "--role", "editor")
    invitations = await invoke(cli, "members", "invitations")
    invitation_id = invited.stdout.split("(")[1].split(")")[0]
    cancelled = await invoke(cli, "members", "cancel", invitation_id)
    listed = await invoke(cli, "members", "list")
    last_admin = await invoke(cli, "members", "remove", ada.id)
    promoted = await invoke(cli, "members", "role", bob.id, "admin")
    removed = await invoke(cli, "members", "remove", ada.id)

    assert invited.exit_code == 0, invited.output
    assert invited.stdout.startswith("invited cy@example.com as editor (inv")
    assert "cy@example.com" in invitations.stdout and "admin" in invitations.stdout
    assert cancelled.stdout.strip() == f"cancelled invitation {invitation_id}"
    assert ada.id in listed.stdout and bob.id in listed.stdout
    assert last_admin.exit_code == 1 and last_admin.stderr.rstrip().endswith("(last_admin)")
    assert promoted.stdout.strip() == f"Bob ({bob.id}) is now admin"
    assert removed.exit_code == 0, removed.output
    listed_after = await invoke(cli, "members", "list")
    assert ada.id not in listed_after.stdout


async def test_changes_need_an_admin_and_invitations_are_theirs_to_see(served: Served) -> None:
    viewer = remote_cli(served, served.token("a_viewer"))

    invited = await invoke(viewer, "members", "invite", "cy@example.com")
    invitations = await invoke(viewer, "members", "invitations")
    listed = await invoke(viewer, "members", "list")

    assert invited.exit_code == 1 and invited.stderr.rstrip().endswith("(forbidden)")
    assert invitations.exit_code == 1 and "only admins see invitations" in invitations.stderr
    assert listed.exit_code == 0 and "no members yet" in listed.stdout


async def test_whoami_names_the_token_or_the_person(served: Served) -> None:
    people = accept_people(served.runtime.services)
    ada = await join(served.runtime.services, "workspace-a", "ada@example.com", "viewer", people)

    as_token = await invoke(remote_cli(served, served.token("a_editor")), "whoami")
    as_ada = await invoke(remote_cli(served, f"{PERSON_PREFIX}ada"), "whoami")

    assert as_token.exit_code == 0, as_token.output
    token_line, where = as_token.stdout.splitlines()
    assert token_line.startswith("token editor (tok")
    assert where == "workspace workspace-a, role editor"
    assert as_ada.exit_code == 0, as_ada.output
    assert as_ada.stdout.splitlines() == [
        f"user Ada <ada@example.com> ({ada.id})",
        "workspace workspace-a, role viewer",
    ]
