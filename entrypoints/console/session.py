"""Who is using the console: the token kept in an HttpOnly cookie, and CSRF protection.

The console signs in with the same bearer tokens as the API and authenticates them the
same way (`AuthenticateHandler`), so roles and workspace isolation are the API's. The
cookie is HttpOnly (scripts cannot read it), SameSite=Strict (other sites' pages never
send it) and scoped to /console; every state-changing request must also come with an
Origin (or Referer) naming this very site, which stops a forged form from another
origin even in a browser that ignores SameSite.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from application.access import Principal
from application.errors import ApplicationError, Unauthenticated

COOKIE = "treadle_console"
COOKIE_PATH = "/console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Unauthenticated):
    """Sign in with a token to use the console."""


class CrossSiteRequest(ApplicationError):
    """This form was not sent from a console page; reload the page and try again."""

    code = "cross_site_request"


async def authenticate_cookie(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    token = connection.cookies.get(COOKIE, "")
    if not token:
        raise SignInRequired()
    authenticate = connection.app.state["services"].authenticate()
    try:
        principal: Principal = await authenticate(token)
    except Unauthenticated:
        raise SignInRequired("your token was revoked or is unknown: sign in again") from None
    return principal


async def _principal(request: Request[Any, Any, Any]) -> Principal:
    return await authenticate_cookie(request)


CONSOLE_PRINCIPAL = Provide(_principal)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def same_origin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a state-changing request whose Origin (or, failing that, Referer) is another
    site's, or that names neither."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    claimed = connection.headers.get("origin") or _origin_of(connection.headers.get("referer", ""))
    if not claimed or claimed.lower() != _origin_of(str(connection.base_url)):
        raise CrossSiteRequest()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path on this site."""
    if target and target.startswith(COOKIE_PATH + "/") and not target.startswith("//"):
        return target
    return COOKIE_PATH + "/executions"
