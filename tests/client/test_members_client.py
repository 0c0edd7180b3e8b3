"""The clients' members calls and `me()` against the real app: the sync and async clients
decode the same answers, and a refusal is the typed error."""

from __future__ import annotations

import asyncio

import pytest

from tests.client.conftest import Served
from tests.support.people import PERSON_PREFIX, accept_people, join
from treadle_client import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    Me,
    Members,
    NotFound,
    TreadleError,
)


async def test_the_async_client_manages_members(served: Served) -> None:
    ada = await join(served.runtime.services, "workspace-a", "ada@example.com", "admin")
    bob = await join(served.runtime.services, "workspace-a", "bob@example.com", "editor")
    async with AsyncClient(served.url, served.token()) as client:
        invitation = await client.invite("cy@example.com", "viewer")
        listed = await client.list_members()
        await client.cancel_invitation(invitation.id)
        with pytest.raises(Conflict) as last:
            await client.change_role(ada.id, "viewer")
        promoted = await client.change_role(bob.id, "admin")
        await client.remove_member(ada.id)
        with pytest.raises(NotFound):
            await client.remove_member(ada.id)
        after = await client.list_members()
        me = await client.me()

    assert (invitation.email, invitation.role) == ("cy@example.com", "viewer")
    assert [m.user_id for m in listed.members] == [ada.id, bob.id]
    assert [i.id for i in listed.invitations] == [invitation.id]
    assert last.value.code == "last_admin"
    assert promoted.role == "admin" and promoted.display_name == "Bob"
    assert [m.user_id for m in after.members] == [bob.id] and after.invitations == []
    assert me.kind == "token" and me.user is None and me.token is not None
    assert (me.workspace.name, me.role) == ("workspace-a", "admin")


async def test_the_sync_client_reads_the_same_and_is_refused_the_same(served: Served) -> None:
    await join(served.runtime.services, "workspace-a", "ada@example.com", "admin")

    def calls() -> tuple[Members, Me, Forbidden]:
        with Client(served.url, served.token("a_viewer")) as client:
            members = client.list_members()
            me = client.me()
            with pytest.raises(Forbidden) as refused:
                client.invite("eve@example.com", "admin")
        return members, me, refused.value

    members, me, refused = await asyncio.to_thread(calls)

    assert [m.email for m in members.members] == ["ada@example.com"]
    assert members.invitations == []
    assert me.role == "viewer" and me.workspaces[0].name == "workspace-a"
    assert refused.code == "forbidden"


async def test_a_person_in_two_workspaces_names_one_with_the_client(served: Served) -> None:
    verifier = accept_people(served.runtime.services)
    await join(served.runtime.services, "workspace-a", "ada@example.com", "admin", verifier)
    await join(served.runtime.services, "workspace-b", "ada@example.com", "viewer", verifier)
    token = f"{PERSON_PREFIX}ada"

    async with AsyncClient(served.url, token, workspace="workspace-b") as client:
        in_b = await client.me()
    async with AsyncClient(served.url, token) as client:
        with pytest.raises(TreadleError) as unnamed:
            await client.me()

    assert (in_b.kind, in_b.workspace.name, in_b.role) == ("user", "workspace-b", "viewer")
    assert sorted(w.name for w in in_b.workspaces) == ["workspace-a", "workspace-b"]
    assert unnamed.value.code == "workspace_required"
