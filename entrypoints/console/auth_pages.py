"""Signing in with a token and signing out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from application.errors import Unauthenticated
from entrypoints.console.session import COOKIE, COOKIE_PATH, safe_next

# Long enough for a working week; the token itself stays valid until it is revoked.
COOKIE_SECONDS = 7 * 24 * 3600


def _sign_in_page(next_url: str, error: str | None = None, status: int = 200) -> Template:
    context = {"next": next_url, "error": error, "principal": None, "title": "Sign in"}
    return Template("sign_in.html", context=context, status_code=status)


class SignInPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(
        self, next_url: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Template:
        return _sign_in_page(safe_next(next_url))

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        token = str(form.get("token", "")).strip()
        next_url = safe_next(str(form.get("next", "")))
        authenticate = request.app.state["services"].authenticate()
        try:
            await authenticate(token)
        except Unauthenticated:
            return _sign_in_page(next_url, "That token is not valid (or was revoked).", 401)
        response = Redirect(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=COOKIE_SECONDS,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(self) -> Response[Any]:
        response = Redirect(f"{COOKIE_PATH}/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
