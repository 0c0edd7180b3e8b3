"""The workspace's people (list them; admins invite, change roles, remove) and who the
caller is (`/me`)."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.access import Principal, Role
from application.queries.admin import AdminQueries
from application.queries.people import PeopleQueries
from application.use_cases.people import (
    CancelInvitation,
    CancelInvitationHandler,
    ChangeMembershipHandler,
    ChangeRole,
    Invite,
    InviteHandler,
    RemoveMember,
)
from entrypoints.api.auth import ADMIN
from entrypoints.api.schemas.members import (
    InvitationCreate,
    InvitationOut,
    MemberOut,
    MembersOut,
    MeOut,
    RoleChange,
    TokenRef,
    UserRef,
    WorkspaceRef,
    WorkspaceRoleOut,
)


async def members_out(
    people_queries: PeopleQueries, principal: Principal, with_invitations: bool
) -> MembersOut:
    members = await people_queries.members(principal.workspace_id)
    invitations = (
        await people_queries.invitations(principal.workspace_id) if with_invitations else []
    )
    return MembersOut(
        members=[MemberOut.of(member) for member in members],
        invitations=[InvitationOut.of(invitation) for invitation in invitations],
    )


class MemberController(Controller):
    """Members are people who signed in after an invitation; every change keeps an admin."""

    path = "/members"
    tags = ["members"]

    @get("/")
    async def list_members(
        self,
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
    ) -> MembersOut:
        """Everyone in the workspace with their role; pending invitations for admins only
        (they hold the emails of people who have not joined)."""
        return await members_out(people_queries, principal, principal.allows(Role.ADMIN))

    @post("/invitations", guards=[ADMIN])
    async def invite(
        self,
        data: JSONBody[InvitationCreate],
        principal: NamedDependency[Principal],
        invite: NamedDependency[InviteHandler],
    ) -> InvitationOut:
        """The membership begins when the email first signs in with a verified address;
        inviting an email again replaces its pending invitation."""
        invitation = await invite(
            Invite(principal.workspace_id, data.email, data.role, actor=principal.actor)
        )
        return InvitationOut.of(invitation)

    @delete("/invitations/{invitation_id:str}", guards=[ADMIN])
    async def cancel_invitation(
        self,
        invitation_id: FromPath[str],
        principal: NamedDependency[Principal],
        cancel_invitation: NamedDependency[CancelInvitationHandler],
    ) -> None:
        await cancel_invitation(
            CancelInvitation(principal.workspace_id, invitation_id, actor=principal.actor)
        )

    @patch("/{user_id:str}", guards=[ADMIN])
    async def change_role(
        self,
        user_id: FromPath[str],
        data: JSONBody[RoleChange],
        principal: NamedDependency[Principal],
        change_membership: NamedDependency[ChangeMembershipHandler],
    ) -> MemberOut:
        """409 `last_admin` when it would leave the workspace without an admin."""
        member = await change_membership.change_role(
            ChangeRole(principal.workspace_id, user_id, data.role, actor=principal.actor)
        )
        return MemberOut.of(member)

    @delete("/{user_id:str}", guards=[ADMIN])
    async def remove_member(
        self,
        user_id: FromPath[str],
        principal: NamedDependency[Principal],
        change_membership: NamedDependency[ChangeMembershipHandler],
    ) -> None:
        """Their sign-ins are refused in this workspace from now on; 409 `last_admin` for
        the workspace's last admin."""
        await change_membership.remove(
            RemoveMember(principal.workspace_id, user_id, actor=principal.actor)
        )


class MeController(Controller):
    path = "/me"
    tags = ["workspace"]

    @get("/")
    async def who_am_i(
        self,
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        people_queries: NamedDependency[PeopleQueries],
    ) -> MeOut:
        """The token or person calling, their workspace and role, and (a person's) every
        workspace they belong to."""
        workspace = await admin_queries.workspace(principal.workspace_id)
        where = WorkspaceRef(id=workspace.id, name=workspace.name)
        if principal.user_id is None:
            return MeOut(
                kind="token",
                workspace=where,
                role=principal.role.value,
                token=TokenRef(id=principal.token_id, name=principal.token_name),
                user=None,
                workspaces=[
                    WorkspaceRoleOut(id=where.id, name=where.name, role=principal.role.value)
                ],
            )
        found = await people_queries.workspaces_of(principal.user_id)
        return MeOut(
            kind="user",
            workspace=where,
            role=principal.role.value,
            token=None,
            user=await _user_ref(people_queries, principal),
            workspaces=[WorkspaceRoleOut.of(each) for each in found],
        )


async def _user_ref(people_queries: PeopleQueries, principal: Principal) -> UserRef:
    """The calling person as their membership of this workspace names them (the principal
    carries no email)."""
    user_id = principal.user_id or ""
    user = await people_queries.member(principal.workspace_id, user_id)
    if user is None:
        # Removed since their principal was cached: still say who they are, without an email.
        return UserRef(id=user_id, email=None, display_name=principal.user_name)
    return UserRef(id=user.id, email=user.email, display_name=user.display_name)
