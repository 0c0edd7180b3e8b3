"""The members page: everyone sees who is in the workspace and with which role; admins
also invite by email, change roles, remove members and cancel invitations.

A change that would leave the workspace without an admin is answered as the page again,
with the refusal beside the member it concerns.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.errors import Conflict, NotFound
from application.input_errors import InvalidInput
from application.people import LastAdmin
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
from entrypoints.console.admin_forms import (
    Confirmation,
    confirmation_page,
    notice_of,
    refused_field,
)
from entrypoints.console.forms import field_refusal, form_fields

PAGE = "/console/members"
MAX_EMAIL_LENGTH = 320
ROLES = tuple(role.value for role in Role)
NOTICES = {
    "member-invited": "Invitation saved: they join when they first sign in with that email.",
    "invitation-cancelled": "Invitation cancelled.",
    "role-changed": "Role changed.",
    "member-removed": "Member removed.",
}


async def _members_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    people_queries: PeopleQueries,
    status: int = 200,
    **context: Any,
) -> Template:
    is_admin = principal.allows(Role.ADMIN)
    workspace_id = principal.workspace_id
    values = {
        "principal": principal,
        "nav": "members",
        "title": "Members",
        "members": await people_queries.members(workspace_id),
        # Pending invitations hold the emails of people who have not joined: admins only.
        "invitations": await people_queries.invitations(workspace_id) if is_admin else [],
        "is_admin": is_admin,
        "roles": ROLES,
        "page_notice": notice_of(request, NOTICES) if status == 200 else None,
        "form": {"email": "", "role": Role.VIEWER.value},
        "errors": {},
        "member_errors": {},
        **context,
    }
    return Template("members.html", context=values, status_code=status)


def _refusals(email: str, role: str) -> dict[str, str]:
    """Problems the page finds before asking the use case (which checks the rest)."""
    errors: dict[str, str] = {}
    if refusal := field_refusal({"email": email}):
        errors["email"] = refusal
    elif not email:
        errors["email"] = "Give the email they will sign in with."
    elif len(email) > MAX_EMAIL_LENGTH:
        errors["email"] = f"An email is at most {MAX_EMAIL_LENGTH} characters."
    if role not in ROLES:
        errors["role"] = f"Choose a role: {', '.join(ROLES)}."
    return errors


class MemberPages(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def list_members(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
    ) -> Template:
        return await _members_page(request, principal, people_queries)

    @post("/invitations", status_code=303)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
        invite: NamedDependency[InviteHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        fields = await form_fields(request)
        form = {"email": fields.get("email", "").strip(), "role": fields.get("role", "")}
        errors, status = _refusals(form["email"], form["role"]), 422
        if not errors:
            try:
                await invite(
                    Invite(principal.workspace_id, form["email"], form["role"], principal.actor)
                )
            except InvalidInput as invalid:
                errors[refused_field(invalid, "email")] = invalid.message
            except Conflict as conflict:  # already a member
                errors["email"], status = conflict.message, 409
        if errors:
            return await _members_page(
                request, principal, people_queries, status, form=form, errors=errors
            )
        return Redirect(f"{PAGE}?notice=member-invited", status_code=303)

    @post("/invitations/{invitation_id:str}/cancel", status_code=303)
    async def cancel_invitation(
        self,
        invitation_id: FromPath[str],
        principal: NamedDependency[Principal],
        cancel_invitation: NamedDependency[CancelInvitationHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        await cancel_invitation(
            CancelInvitation(principal.workspace_id, invitation_id, principal.actor)
        )
        return Redirect(f"{PAGE}?notice=invitation-cancelled", status_code=303)

    @post("/{user_id:str}/role", status_code=303)
    async def change_role(
        self,
        user_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
        change_membership: NamedDependency[ChangeMembershipHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        role = (await form_fields(request)).get("role", "")
        try:
            await change_membership.change_role(
                ChangeRole(principal.workspace_id, user_id, role, principal.actor)
            )
        except (LastAdmin, InvalidInput) as refused:
            status = 409 if isinstance(refused, LastAdmin) else 422
            member_errors = {user_id: refused.message}
            return await _members_page(
                request, principal, people_queries, status, member_errors=member_errors
            )
        return Redirect(f"{PAGE}?notice=role-changed", status_code=303)

    @get("/{user_id:str}/remove")
    async def confirm_remove(
        self,
        user_id: FromPath[str],
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
    ) -> Template:
        principal.require(Role.ADMIN)
        user = await people_queries.member(principal.workspace_id, user_id)
        if user is None:
            raise NotFound(f"no member {user_id} in this workspace")
        who = user.display_name
        if user.email and user.email != who:
            who = f"{who} ({user.email})"
        yourself = user.id == principal.user_id
        asked = Confirmation(
            title="Remove member",
            question=f"Remove {who} from this workspace?",
            warning=(
                "This is you: you lose access to this workspace at once."
                if yourself
                else "They lose access at once; an admin can invite them again. The API"
                " tokens they created keep working until revoked."
            ),
            action=f"{PAGE}/{user.id}/remove",
            button="Remove member",
            back=PAGE,
            nav="members",
        )
        return confirmation_page(principal, asked)

    @post("/{user_id:str}/remove", status_code=303)
    async def remove(
        self,
        user_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        people_queries: NamedDependency[PeopleQueries],
        change_membership: NamedDependency[ChangeMembershipHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        try:
            await change_membership.remove(
                RemoveMember(principal.workspace_id, user_id, principal.actor)
            )
        except LastAdmin as refused:
            member_errors = {user_id: refused.message}
            return await _members_page(
                request, principal, people_queries, 409, member_errors=member_errors
            )
        return Redirect(f"{PAGE}?notice=member-removed", status_code=303)
