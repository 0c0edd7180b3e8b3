"""Bodies for a workspace's members and invitations, and for who the caller is (`/me`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from application.people import Invitation, Member
from application.queries.people import WorkspaceRole
from entrypoints.api.schemas.common import Body, Out

# Roles and emails are checked by the use cases, so a bad one is a 422 naming its field
# (`invalid_input`), as every other value the API accepts, rather than a 400.
RoleText = Annotated[
    str, msgspec.Meta(min_length=1, max_length=32, description="viewer, editor or admin")
]
EmailText = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class InvitationCreate(Body):
    email: EmailText
    role: RoleText


class RoleChange(Body):
    role: RoleText


class MemberOut(Out):
    """A person in the workspace and their role; `added_by` names who invited them."""

    user_id: str
    email: str | None
    display_name: str
    role: str
    joined_at: datetime
    added_by: str

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(
            user_id=member.user.id,
            email=member.user.email,
            display_name=member.user.display_name,
            role=member.membership.role,
            joined_at=member.membership.created_at,
            added_by=member.membership.added_by,
        )


class InvitationOut(Out):
    """A membership waiting for `email` to sign in for the first time."""

    id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            email=invitation.email,
            role=invitation.role,
            invited_by=invitation.invited_by,
            created_at=invitation.created_at,
        )


class MembersOut(Out):
    members: list[MemberOut]
    invitations: list[InvitationOut]
    """Pending invitations: listed for admins only, empty for everyone else."""


class WorkspaceRef(Out):
    id: str
    name: str


class TokenRef(Out):
    id: str
    name: str


class UserRef(Out):
    id: str
    email: str | None
    display_name: str


class WorkspaceRoleOut(Out):
    """A workspace the caller may act in, and their role there."""

    id: str
    name: str
    role: str

    @classmethod
    def of(cls, found: WorkspaceRole) -> WorkspaceRoleOut:
        return cls(id=found.workspace.id, name=found.workspace.name, role=found.role)


class MeOut(Out):
    """Who is calling: an API token (`token`) or a person (`user`), in `workspace` with
    `role`; `workspaces` are all the ones they may act in (a token: its own)."""

    kind: str
    """`token` or `user`."""
    workspace: WorkspaceRef
    role: str
    token: TokenRef | None
    user: UserRef | None
    workspaces: list[WorkspaceRoleOut]
