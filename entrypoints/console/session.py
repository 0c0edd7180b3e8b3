"""Who is using the console: a server-side session named by an HttpOnly cookie, and CSRF
protection.

The cookie holds a random session id from `ConsoleSessions`, never a token: the database
keeps only its hash, with the workspace and who signed in (a person, through an identity
provider, or an API token pasted on the sign-in page). Every request reads the session
afresh, so signing out, a revoked token or a removed member ends it at once.

The cookie is HttpOnly (scripts cannot read it), scoped to /console, Secure on https, and
SameSite=Lax. Lax, not Strict: a sign-in ends with the identity provider's redirect back
to the console, a navigation that began on another site, and a Strict cookie would not be
sent on it (nor on the redirect that follows), so the console would ask to sign in again,
forever. Lax still withholds the cookie from other sites' POSTs, images and frames; and
every state-changing request must also come with an Origin (or Referer) naming this very
site (`same_origin_guard`), which stops a forged form from another origin even in a
browser that ignores SameSite.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from application.access import Principal
from application.errors import ApplicationError, Unauthenticated

log = logging.getLogger("treadle.console")

COOKIE = "treadle_console"
COOKIE_PATH = "/console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WORKSPACES_KEY = "console_workspaces"
"""Where a person's workspaces are kept in the request's state, for the header's switcher."""


class SignInRequired(Unauthenticated):
    """Sign in to use the console."""


class CrossSiteRequest(ApplicationError):
    """This form was not sent from a console page; reload the page and try again."""

    code = "cross_site_request"


async def authenticate_cookie(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal of the session the cookie names; `SignInRequired` when there is
    none, or it has ended (expired, signed out, token revoked, member removed)."""
    secret = connection.cookies.get(COOKIE, "")
    if not secret:
        raise SignInRequired()
    services = connection.app.state["services"]
    try:
        principal: Principal = await services.console_sessions().principal(secret)
    except Unauthenticated as ended:
        raise SignInRequired(ended.message) from None
    if principal.user_id is not None:
        workspaces = await services.people_queries().workspaces_of(principal.user_id)
        connection.state[WORKSPACES_KEY] = workspaces
    return principal


def uses_https(request: Request[Any, Any, Any]) -> bool:
    """Whether people reach the console over https: the request says so, or the public
    address does (behind a proxy that ends TLS the request itself arrives over http)."""
    public_url = request.app.state["runtime"].settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_session_cookie(
    request: Request[Any, Any, Any], response: Response[Any], secret: str, lifetime: timedelta
) -> None:
    """Name the new session `secret` in the browser, for as long as the session lasts."""
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=uses_https(request),
    )


async def end_session(request: Request[Any, Any, Any]) -> None:
    """End the session the request's cookie names, if any (at sign-out, or when a new
    session replaces it); the caller deletes or replaces the cookie."""
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        return
    try:
        await request.app.state["services"].console_sessions().end(secret)
    except ApplicationError as error:
        # The cookie goes anyway, and the session expires on its own.
        log.warning("could not end a console session: %s", type(error).__name__)


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
