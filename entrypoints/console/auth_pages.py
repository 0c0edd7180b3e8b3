"""The sign-in page (a button per identity provider, and the API token form), signing out,
and moving to another of a person's workspaces."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from application.access import Principal
from application.errors import ApplicationError, PermissionDenied, Unauthenticated
from application.people import User
from entrypoints.console.session import (
    COOKIE,
    COOKIE_PATH,
    end_session,
    safe_next,
    set_session_cookie,
)

SIGN_IN_PATH = f"{COOKIE_PATH}/sign-in"


def providers_of(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """The configured identity providers, as the sign-in page lists them."""
    providers = request.app.state["services"].oidc_providers()
    return [{"name": name, "label": provider.label} for name, provider in providers.items()]


def sign_in_page(
    request: Request[Any, Any, Any],
    next_url: str,
    *,
    problem: str | None = None,
    token_error: str | None = None,
    status: int = 200,
) -> Template:
    """The sign-in page. `problem`: why the last sign-in failed, in one line a person can
    act on; `token_error`: what was wrong with the pasted token."""
    context = {
        "next": next_url,
        "problem": problem,
        "error": token_error,
        "providers": providers_of(request),
        "principal": None,
        "title": "Sign in",
    }
    return Template("sign_in.html", context=context, status_code=status)


def signed_in(request: Request[Any, Any, Any], secret: str, next_url: str) -> Response[Any]:
    """The answer that begins a new session: its cookie, and a trip to `next_url`."""
    response = Redirect(next_url, status_code=303)
    lifetime = request.app.state["services"].console_sessions().lifetime
    set_session_cookie(request, response, secret, lifetime)
    return response


class SignInPages(Controller):
    path = COOKIE_PATH
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(
        self,
        request: Request[Any, Any, Any],
        next_url: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        return sign_in_page(request, safe_next(next_url))

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Sign in with an API token: the session stands for the token, and ends when it
        is revoked."""
        form = await request.form()
        token = str(form.get("token", "")).strip()
        next_url = safe_next(str(form.get("next", "")))
        services = request.app.state["services"]
        try:
            principal: Principal = await services.authenticate()(token)
        except ApplicationError:
            return _refused_token(request, next_url)
        if principal.is_person:
            # A person's JWT names no token a session could stand for; people use the
            # provider's button, which also keeps their profile and invitations current.
            return _refused_token(request, next_url)
        await end_session(request)
        secret = await services.console_sessions().begin_for_token(principal)
        return signed_in(request, secret, next_url)

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        response = Redirect(SIGN_IN_PATH, status_code=303)
        await end_session(request)
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    @post("/workspace", status_code=303)
    async def switch_workspace(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[Any]:
        """Move a person to another workspace they are a member of: a new session there
        replaces this one."""
        form = await request.form()
        workspace_id = str(form.get("workspace", "")).strip()
        user = await _user_of(request, principal)
        sessions = request.app.state["services"].console_sessions()
        secret = await sessions.begin_for_user(user, workspace_id)
        await end_session(request)
        return signed_in(request, secret, f"{COOKIE_PATH}/executions")


def _refused_token(request: Request[Any, Any, Any], next_url: str) -> Template:
    return sign_in_page(
        request,
        next_url,
        token_error="That token is not valid (or was revoked).",
        status=401,
    )


async def _user_of(request: Request[Any, Any, Any], principal: Principal) -> User:
    """The signed-in person, still a member of their current workspace."""
    if principal.user_id is None:
        raise PermissionDenied("an API token belongs to one workspace: sign in as a person")
    queries = request.app.state["services"].people_queries()
    user: User | None = await queries.member(principal.workspace_id, principal.user_id)
    if user is None:
        raise Unauthenticated("you are no longer a member of this workspace: sign in again")
    return user
