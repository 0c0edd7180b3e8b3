"""People: signing in, choosing a workspace, inviting, changing roles, removing members.

A person's first sign-in creates their user; a sign-in with a verified email turns the
invitations waiting for that email into memberships. Role changes and removals lock the
workspace's memberships first, so two admins demoting each other at once cannot leave the
workspace without one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from application.access import Principal, Role
from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import ApplicationError, Conflict, NotFound
from application.ids import new_id
from application.input_errors import InvalidInput
from application.people import (
    Invitation,
    Member,
    Membership,
    NotAMember,
    User,
    check_keeps_an_admin,
    normalise_email,
)
from application.ports.clock import Clock
from application.ports.identity import Identity, IdentityVerifier
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.use_cases.tokens import AuthenticatedTokens, parse_role

# A sign-in refreshes `last_seen_at` at most this often: an API client sending a JWT with
# every request should not cost a write per request.
LAST_SEEN_EVERY = timedelta(minutes=5)


class WorkspaceRequired(ApplicationError):
    """You are a member of several workspaces: say which one with the `X-Treadle-Workspace`
    header (its name or id)."""

    code = "workspace_required"


class SignInHandler:
    """Turns a verified identity into its user: created at the first sign-in, kept up to
    date after, and joined to the workspaces that invited its verified email."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, identity: Identity) -> User:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.people.find_user(identity.issuer, identity.subject)
            # Only an address the provider vouches for is kept: an unverified one could be
            # anybody's, and members are listed (and invitations matched) by their email.
            verified = (
                normalise_email(identity.email)
                if identity.email and identity.email_verified
                else None
            )
            if user is None:
                user = await _first_sign_in(uow, identity, verified, now)
            elif _changed(user, verified or user.email, identity.display_name, now):
                user = replace(
                    user,
                    email=verified or user.email,
                    display_name=identity.display_name,
                    last_seen_at=now,
                )
                await uow.people.save_user(user)
            joined = await _accept_invitations(uow, user, now) if verified else 0
            if user.last_seen_at == now or joined:
                await uow.commit()
        return user


async def _first_sign_in(
    uow: UnitOfWork, identity: Identity, email: str | None, now: datetime
) -> User:
    """The new user; or, when a request carrying the same new identity created it a moment
    ago (a client firing several at once), that one."""
    user = User(
        new_id("usr"), identity.issuer, identity.subject, email, identity.display_name, now, now
    )
    try:
        await uow.people.add_user(user)
    except Conflict:
        found = await uow.people.find_user(identity.issuer, identity.subject)
        if found is None:
            raise
        return found
    return user


def _changed(user: User, email: str | None, name: str, now: datetime) -> bool:
    stale = now - user.last_seen_at >= LAST_SEEN_EVERY
    return stale or user.email != email or user.display_name != name


async def _accept_invitations(uow: UnitOfWork, user: User, now: datetime) -> int:
    if not user.email:
        return 0
    invitations = await uow.people.invitations_for(user.email)
    for invitation in invitations:
        if await uow.people.membership(invitation.workspace_id, user.id) is None:
            membership = Membership(
                invitation.workspace_id,
                user.id,
                invitation.role,
                now,
                invitation.invited_by,
            )
            await uow.people.put_membership(membership)
            await record_change(
                uow,
                invitation.workspace_id,
                now,
                Actor.user(user.id, user.display_name),
                AuditAction.MEMBER_JOINED,
                user.id,
                {"email": user.email, "role": invitation.role, "invitation": invitation.id},
            )
        await uow.people.remove_invitation(invitation.workspace_id, invitation.id)
    return len(invitations)


class PrincipalForUserHandler:
    """The principal a signed-in person acts as: their role in the workspace they name
    (by id or name), or in their only workspace when they name none."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, user: User, workspace: str | None = None) -> Principal:
        async with self._uow() as uow:
            memberships = await uow.people.memberships_of(user.id)
            if workspace:
                named = await uow.workspaces.get_by_name(workspace)
                wanted = named.id if named is not None else workspace
                memberships = [m for m in memberships if m.workspace_id == wanted]
        if not memberships:
            if workspace:
                raise NotAMember()
            raise NotAMember(
                "you are not a member of any workspace yet: ask an admin to invite "
                f"{user.email or 'you'}"
            )
        if len(memberships) > 1:
            raise WorkspaceRequired()
        return principal_of(user, memberships[0])


def principal_of(user: User, membership: Membership) -> Principal:
    return Principal(
        membership.workspace_id,
        Role(membership.role),
        user_id=user.id,
        user_name=user.display_name,
    )


class PersonalTokens:
    """Bearer JWTs of people: verified, signed in (their user kept up to date), and turned
    into the principal of the workspace they name."""

    def __init__(
        self,
        verifier: IdentityVerifier,
        sign_in: SignInHandler,
        principal_for: PrincipalForUserHandler,
    ) -> None:
        self._verifier = verifier
        self._sign_in = sign_in
        self._principal_for = principal_for

    def recognises(self, token: str) -> bool:
        return self._verifier.recognises(token)

    async def principal(self, token: str, workspace: str | None) -> Principal:
        user = await self._sign_in(await self._verifier.verify(token))
        return await self._principal_for(user, workspace)


@dataclass(frozen=True)
class Invite:
    workspace_id: str
    email: str
    role: str
    actor: Actor = SYSTEM


class InviteHandler:
    """Invite an email into a workspace with a role; the membership begins at the next
    sign-in with that email verified (a first one, or the next of someone already known),
    since only a sign-in says the address is theirs."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: Invite) -> Invitation:
        role = parse_role(command.role)
        email = normalise_email(command.email)
        if "@" not in email.strip("@") or len(email) > 320:
            raise InvalidInput("email", f"{command.email!r} is not an email address")
        invitation = Invitation(
            new_id("inv"),
            command.workspace_id,
            email,
            role.value,
            command.actor.name,
            self._clock.now(),
        )
        async with self._uow() as uow:
            for member in await uow.people.members(command.workspace_id):
                if member.user.email == email:
                    raise Conflict(f"{email} is already a member of this workspace")
            await uow.people.add_invitation(invitation)
            await record_change(
                uow,
                command.workspace_id,
                invitation.created_at,
                command.actor,
                AuditAction.MEMBER_INVITED,
                invitation.id,
                {"email": email, "role": role.value},
            )
            await uow.commit()
        return invitation


@dataclass(frozen=True)
class CancelInvitation:
    workspace_id: str
    invitation_id: str
    actor: Actor = SYSTEM


class CancelInvitationHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: CancelInvitation) -> None:
        async with self._uow() as uow:
            if not await uow.people.remove_invitation(command.workspace_id, command.invitation_id):
                raise NotFound(f"no invitation {command.invitation_id} in this workspace")
            await record_change(
                uow,
                command.workspace_id,
                self._clock.now(),
                command.actor,
                AuditAction.INVITATION_CANCELLED,
                command.invitation_id,
            )
            await uow.commit()


@dataclass(frozen=True)
class ChangeRole:
    workspace_id: str
    user_id: str
    role: str
    actor: Actor = SYSTEM


@dataclass(frozen=True)
class RemoveMember:
    workspace_id: str
    user_id: str
    actor: Actor = SYSTEM


class ChangeMembershipHandler:
    """Change a member's role or remove them, keeping an admin; the member's cached
    authentications in this process are forgotten at once."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, cache: AuthenticatedTokens | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache

    async def change_role(self, command: ChangeRole) -> Member:
        role = parse_role(command.role)
        async with self._uow() as uow:
            member = await _locked_member(uow, command.workspace_id, command.user_id, role)
            if member.membership.role != role.value:
                await uow.people.put_membership(replace(member.membership, role=role.value))
                await record_change(
                    uow,
                    command.workspace_id,
                    self._clock.now(),
                    command.actor,
                    AuditAction.MEMBER_ROLE_CHANGED,
                    command.user_id,
                    {"from": member.membership.role, "to": role.value},
                )
                await uow.commit()
        self._forget(command.user_id)
        return Member(replace(member.membership, role=role.value), member.user)

    async def remove(self, command: RemoveMember) -> None:
        async with self._uow() as uow:
            member = await _locked_member(uow, command.workspace_id, command.user_id, None)
            await uow.people.remove_membership(command.workspace_id, command.user_id)
            # Ended, not only refused: a later invitation must not bring an old cookie back.
            await uow.sessions.remove_for(command.workspace_id, command.user_id)
            await record_change(
                uow,
                command.workspace_id,
                self._clock.now(),
                command.actor,
                AuditAction.MEMBER_REMOVED,
                command.user_id,
                {"email": member.user.email, "role": member.membership.role},
            )
            await uow.commit()
        self._forget(command.user_id)

    def _forget(self, user_id: str) -> None:
        if self._cache is not None:
            self._cache.forget_user(user_id)


async def _locked_member(
    uow: UnitOfWork, workspace_id: str, user_id: str, new_role: Role | None
) -> Member:
    """The member about to take `new_role` (None: be removed), with the workspace's
    memberships locked, once it is sure an admin remains."""
    members = await uow.people.members(workspace_id, lock=True)
    member = next((m for m in members if m.user.id == user_id), None)
    if member is None:
        raise NotFound(f"no member {user_id} in this workspace")
    check_keeps_an_admin([m.membership for m in members], user_id, new_role)
    return member
