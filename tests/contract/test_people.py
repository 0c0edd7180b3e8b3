"""People on both adapters: first sign-in creates the user and joins the invitations of
its verified email, a workspace keeps an admin, console sessions end when they expire,
at sign-out, or when their member is removed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from application.access import Role
from application.audit import Actor, AuditFilter
from application.errors import NotFound
from application.people import LastAdmin, NotAMember
from application.ports.identity import Identity
from application.queries.people import PeopleQueries
from application.use_cases.people import (
    CancelInvitation,
    CancelInvitationHandler,
    ChangeMembershipHandler,
    ChangeRole,
    Invite,
    InviteHandler,
    PrincipalForUserHandler,
    RemoveMember,
    SignInHandler,
    WorkspaceRequired,
)
from application.use_cases.sessions import ConsoleSessions, SessionEnded
from application.use_cases.tokens import AuthenticatedTokens
from application.use_cases.workspaces import EnsureWorkspace, EnsureWorkspaceHandler
from tests.contract.conftest import Backend

ISSUER = "https://id.example.com"
ADMIN_ACTOR = Actor.token("tok_admin", "admin token")


def alice(**changes: object) -> Identity:
    fields: dict[str, object] = {
        "issuer": ISSUER,
        "subject": "alice-sub",
        "email": "Alice@Example.com",
        "email_verified": True,
        "name": "Alice",
    }
    return Identity(**{**fields, **changes})  # type: ignore[arg-type]


async def workspace(backend: Backend, name: str = "team") -> str:
    created = await EnsureWorkspaceHandler(backend.uow, backend.clock)(EnsureWorkspace(name))
    return created.id


async def test_first_sign_in_creates_the_user_and_the_next_finds_it(backend: Backend) -> None:
    sign_in = SignInHandler(backend.uow, backend.clock)
    first = await sign_in(alice())
    again = await sign_in(alice(name="Alice Liddell"))
    assert again.id == first.id
    assert first.email == "alice@example.com"
    assert again.display_name == "Alice Liddell"
    other = await sign_in(alice(issuer="https://other.example.com"))
    assert other.id != first.id


async def test_a_verified_email_joins_its_invitations_with_their_roles(backend: Backend) -> None:
    team = await workspace(backend, "team")
    lab = await workspace(backend, "lab")
    invite = InviteHandler(backend.uow, backend.clock)
    await invite(Invite(team, "alice@example.com", "editor", ADMIN_ACTOR))
    await invite(Invite(lab, "ALICE@example.com", "viewer", ADMIN_ACTOR))

    user = await SignInHandler(backend.uow, backend.clock)(alice())

    principal_for = PrincipalForUserHandler(backend.uow)
    with pytest.raises(WorkspaceRequired):
        await principal_for(user)
    in_team = await principal_for(user, "team")
    assert (in_team.workspace_id, in_team.role, in_team.user_id) == (team, Role.EDITOR, user.id)
    assert in_team.actor == Actor.user(user.id, "Alice")
    assert (await principal_for(user, lab)).role is Role.VIEWER
    joined_to = await PeopleQueries(backend.uow).workspaces_of(user.id)
    assert sorted((w.workspace.name, w.role) for w in joined_to) == [
        ("lab", "viewer"),
        ("team", "editor"),
    ]
    async with backend.uow() as uow:
        assert await uow.people.invitations(team) == []
        joined = await uow.audit.search(team, AuditFilter(action="member.joined"))
    assert [e.object_id for e in joined] == [user.id]


async def test_an_unverified_email_joins_nothing(backend: Backend) -> None:
    team = await workspace(backend)
    await InviteHandler(backend.uow, backend.clock)(Invite(team, "alice@example.com", "editor"))
    user = await SignInHandler(backend.uow, backend.clock)(alice(email_verified=False))
    with pytest.raises(NotAMember):
        await PrincipalForUserHandler(backend.uow)(user)
    async with backend.uow() as uow:
        assert len(await uow.people.invitations(team)) == 1


async def test_an_invitation_can_be_cancelled(backend: Backend) -> None:
    team = await workspace(backend)
    invitation = await InviteHandler(backend.uow, backend.clock)(
        Invite(team, "bob@example.com", "viewer")
    )
    cancel = CancelInvitationHandler(backend.uow, backend.clock)
    await cancel(CancelInvitation(team, invitation.id))
    with pytest.raises(NotFound):
        await cancel(CancelInvitation(team, invitation.id))


async def _admin_and_editor(backend: Backend) -> tuple[str, str, str]:
    team = await workspace(backend)
    invite = InviteHandler(backend.uow, backend.clock)
    await invite(Invite(team, "alice@example.com", "admin"))
    await invite(Invite(team, "bob@example.com", "editor"))
    sign_in = SignInHandler(backend.uow, backend.clock)
    admin = await sign_in(alice())
    editor = await sign_in(alice(subject="bob-sub", email="bob@example.com", name="Bob"))
    return team, admin.id, editor.id


async def test_the_last_admin_can_be_neither_demoted_nor_removed(backend: Backend) -> None:
    team, admin, editor = await _admin_and_editor(backend)
    members = ChangeMembershipHandler(backend.uow, backend.clock)
    with pytest.raises(LastAdmin):
        await members.change_role(ChangeRole(team, admin, "editor"))
    with pytest.raises(LastAdmin):
        await members.remove(RemoveMember(team, admin))

    promoted = await members.change_role(ChangeRole(team, editor, "admin"))
    assert promoted.membership.role == "admin"
    await members.remove(RemoveMember(team, admin))
    async with backend.uow() as uow:
        assert [m.user.id for m in await uow.people.members(team)] == [editor]
    with pytest.raises(NotFound):
        await members.remove(RemoveMember(team, admin))


async def test_removing_a_member_forgets_their_cached_principals(backend: Backend) -> None:
    team, _, editor = await _admin_and_editor(backend)
    cache = AuthenticatedTokens(backend.clock)
    user = await SignInHandler(backend.uow, backend.clock)(
        alice(subject="bob-sub", email="bob@example.com", name="Bob")
    )
    cache.put("bob's jwt", await PrincipalForUserHandler(backend.uow)(user), cache.generation)
    await ChangeMembershipHandler(backend.uow, backend.clock, cache).remove(
        RemoveMember(team, editor)
    )
    assert cache.get("bob's jwt") is None


async def test_a_session_lasts_until_it_expires_or_ends(backend: Backend) -> None:
    team, admin, _ = await _admin_and_editor(backend)
    sessions = ConsoleSessions(backend.uow, backend.clock, timedelta(hours=1))
    async with backend.uow() as uow:
        user = await uow.people.get_user(admin)
    assert user is not None
    secret = await sessions.begin_for_user(user, team)
    assert (await sessions.principal(secret)).user_id == admin
    with pytest.raises(SessionEnded):
        await sessions.principal(secret + "x")

    backend.clock.advance(3601)
    with pytest.raises(SessionEnded):
        await sessions.principal(secret)
    assert await sessions.remove_expired() == 1

    expired = await sessions.begin_for_user(user, team)
    backend.clock.advance(3601)
    other = await sessions.begin_for_user(user, team)  # sweeps the expired one away
    assert await sessions.remove_expired() == 0
    assert (await sessions.principal(other)).user_id == admin
    await sessions.end(other)
    for ended in (other, expired):
        with pytest.raises(SessionEnded):
            await sessions.principal(ended)


async def test_a_removed_member_loses_their_session_at_once(backend: Backend) -> None:
    team, _, editor = await _admin_and_editor(backend)
    sessions = ConsoleSessions(backend.uow, backend.clock, timedelta(hours=1))
    async with backend.uow() as uow:
        user = await uow.people.get_user(editor)
    assert user is not None
    secret = await sessions.begin_for_user(user, team)
    await ChangeMembershipHandler(backend.uow, backend.clock).remove(RemoveMember(team, editor))
    with pytest.raises(SessionEnded):
        await sessions.principal(secret)
    with pytest.raises(NotAMember):
        await sessions.begin_for_user(user, team)


async def test_a_removed_member_s_old_session_stays_ended_after_a_new_invitation(
    backend: Backend,
) -> None:
    team, _, editor = await _admin_and_editor(backend)
    sessions = ConsoleSessions(backend.uow, backend.clock, timedelta(hours=1))
    async with backend.uow() as uow:
        user = await uow.people.get_user(editor)
    assert user is not None
    old = await sessions.begin_for_user(user, team)
    await ChangeMembershipHandler(backend.uow, backend.clock).remove(RemoveMember(team, editor))
    await InviteHandler(backend.uow, backend.clock)(Invite(team, "bob@example.com", "viewer"))
    await SignInHandler(backend.uow, backend.clock)(
        alice(subject="bob-sub", email="bob@example.com", name="Bob")
    )
    fresh = await sessions.begin_for_user(user, team)
    assert (await sessions.principal(fresh)).user_id == editor, "a member again"

    with pytest.raises(SessionEnded):
        await sessions.principal(old)


async def test_an_unverified_email_is_not_kept(backend: Backend) -> None:
    sign_in = SignInHandler(backend.uow, backend.clock)
    first = await sign_in(alice(email="ceo@example.com", email_verified=False))
    assert first.email is None
    verified = await sign_in(alice())
    assert verified.email == "alice@example.com"
    again = await sign_in(alice(email="ceo@example.com", email_verified=False))
    assert again.email == "alice@example.com", "the last verified address stays"


async def test_a_user_made_by_a_concurrent_first_sign_in_is_found_not_refused(
    backend: Backend,
) -> None:
    users = await asyncio.gather(
        *(SignInHandler(backend.uow, backend.clock)(alice()) for _ in range(5))
    )
    assert len({user.id for user in users}) == 1
