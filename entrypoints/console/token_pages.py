"""The API tokens page (admins): create, list and revoke the workspace's tokens.

A new token is shown once, in the very response to the form that created it: only its
hash is stored, so no later page (and no redirect URL) could show it again.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.input_errors import InvalidInput
from application.queries.admin import AdminQueries
from application.queries.people import PeopleQueries
from application.records import ApiToken
from application.use_cases.tokens import (
    CreateToken,
    CreateTokenHandler,
    RevokeToken,
    RevokeTokenHandler,
)
from entrypoints.console.admin_forms import (
    Confirmation,
    confirmation_page,
    notice_of,
    refused_field,
)
from entrypoints.console.forms import field_refusal, form_fields

MAX_NAME_LENGTH = 200
ROLES = tuple(role.value for role in Role)
NOTICES = {"token-revoked": "Token revoked: it no longer signs anything in."}
# The page holding a new token must not be kept by the browser or a proxy.
NOT_STORED = {"Cache-Control": "no-store"}


async def _tokens_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    admin_queries: AdminQueries,
    people_queries: PeopleQueries,
    status: int = 200,
    **context: Any,
) -> Template:
    tokens = await admin_queries.tokens(principal.workspace_id)
    values = {
        "creators": await _creators(people_queries, principal, tokens),
        "principal": principal,
        "nav": "tokens",
        "title": "API tokens",
        # Newest first: the token just made is at the top, next to where it is shown.
        "tokens": sorted(tokens, key=lambda token: token.created_at, reverse=True),
        "roles": ROLES,
        "page_notice": notice_of(request, NOTICES) if status == 200 else None,
        "form": {"name": "", "role": Role.VIEWER.value},
        "errors": {},
        "created": None,
        **context,
    }
    return Template("tokens.html", context=values, status_code=status, headers=NOT_STORED)


async def _creators(
    people_queries: PeopleQueries, principal: Principal, tokens: list[ApiToken]
) -> dict[str, str]:
    """The display names of the members who created tokens, by user id (a creator no
    longer a member is shown by id)."""
    if not any(token.created_by for token in tokens):
        return {}
    members = await people_queries.members(principal.workspace_id)
    return {member.user.id: member.user.display_name for member in members}


def _refusals(name: str, role: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if refusal := field_refusal({"name": name}):
        errors["name"] = refusal
    elif not name:
        errors["name"] = "Give the token a name that says who or what uses it."
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"A token's name is at most {MAX_NAME_LENGTH} characters."
    if role not in ROLES:
        errors["role"] = f"Choose a role: {', '.join(ROLES)}."
    return errors


async def _token(admin_queries: AdminQueries, principal: Principal, token_id: str) -> ApiToken:
    return await admin_queries.token(principal.workspace_id, token_id)


class TokenPages(Controller):
    path = "/console/tokens"
    include_in_schema = False

    @get("/")
    async def list_tokens(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        people_queries: NamedDependency[PeopleQueries],
    ) -> Template:
        principal.require(Role.ADMIN)
        return await _tokens_page(request, principal, admin_queries, people_queries)

    @post("/", status_code=201)
    async def create_token(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        people_queries: NamedDependency[PeopleQueries],
        create_token: NamedDependency[CreateTokenHandler],
    ) -> Template:
        principal.require(Role.ADMIN)
        fields = await form_fields(request)
        form = {"name": fields.get("name", "").strip(), "role": fields.get("role", "")}
        errors = _refusals(form["name"], form["role"])
        if not errors:
            try:
                created = await create_token(
                    CreateToken(
                        principal.workspace_id,
                        form["name"],
                        form["role"],
                        actor=principal.actor,
                        created_by=principal.user_id,
                    )
                )
            except InvalidInput as invalid:
                errors[refused_field(invalid, "name")] = invalid.message
        if errors:
            return await _tokens_page(
                request, principal, admin_queries, people_queries, 422, form=form, errors=errors
            )
        shown = {"id": created.record.id, "name": form["name"], "secret": created.secret}
        return await _tokens_page(
            request, principal, admin_queries, people_queries, 201, created=shown
        )

    @get("/{token_id:str}/revoke")
    async def confirm_revoke(
        self,
        token_id: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        principal.require(Role.ADMIN)
        token = await _token(admin_queries, principal, token_id)
        yours = token.id == principal.token_id
        asked = Confirmation(
            title="Revoke token",
            question=f"Revoke the token {token.name!r} ({token.role})?",
            warning=(
                "This is the token you are signed in with: you will be signed out."
                if yours
                else "Every client that uses it is refused from now on. This cannot be undone."
            ),
            action=f"/console/tokens/{token.id}/revoke",
            button="Revoke token",
            back="/console/tokens",
            nav="tokens",
        )
        return confirmation_page(principal, asked)

    @post("/{token_id:str}/revoke", status_code=303)
    async def revoke_token(
        self,
        token_id: FromPath[str],
        principal: NamedDependency[Principal],
        revoke_token: NamedDependency[RevokeTokenHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        await revoke_token(RevokeToken(principal.workspace_id, token_id, actor=principal.actor))
        return Redirect("/console/tokens?notice=token-revoked", status_code=303)
