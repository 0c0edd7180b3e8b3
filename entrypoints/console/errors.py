"""How the console answers errors: a page a person can read, or a trip to sign in.

These handlers sit on the console's router, so they take precedence over the API's JSON
handlers for console routes only.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from application.access import Principal
from application.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    StaleExecution,
    StorageError,
    Unauthenticated,
    UnstorableValue,
)
from application.input_errors import InvalidInput
from domain.errors import DomainError, IllegalTransition
from entrypoints.console.session import CrossSiteRequest, authenticate_cookie

log = logging.getLogger("treadle.console")

_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (PermissionDenied, 403, "Not allowed"),
    (CrossSiteRequest, 403, "Request refused"),
    (Conflict, 409, "Not possible right now"),
    (StaleExecution, 409, "Not possible right now"),
    (IllegalTransition, 409, "Not possible right now"),
    (InvalidInput, 422, "Check the values"),
    (UnstorableValue, 422, "Check the values"),
    (StorageError, 503, "The database is unavailable"),
)
_STORAGE_UNAVAILABLE = "The database did not answer. Try again in a few seconds."


_PRINCIPAL_KEY = "console_principal"


async def remembered_principal(request: Request[Any, Any, Any]) -> Principal:
    """The console's principal (from its cookie), also kept in the request's state: the
    error handlers cannot authenticate (they are not async), yet an error page shows the
    same navigation as the page it stands for."""
    principal = await authenticate_cookie(request)
    request.state[_PRINCIPAL_KEY] = principal
    return principal


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    message: str,
    principal: Principal | None = None,
) -> Response[Any]:
    """The console's error page: the navigation when someone is signed in, what went wrong,
    and a way back home."""
    known = principal or request.state.get(_PRINCIPAL_KEY)
    context = {"title": title, "message": message, "status": status, "principal": known}
    return Template("error.html", context=context, status_code=status)


async def page_not_found(request: Request[Any, Any, Any]) -> Response[Any]:
    """What a console address that matches no page answers: the console's 404 page, with
    the navigation if the visitor is signed in (never a trip to sign in first)."""
    try:
        principal: Principal | None = await authenticate_cookie(request)
    except Unauthenticated:
        principal = None
    return error_page(
        request, 404, "Not found", f"There is no console page at {request.url.path}.", principal
    )


def sign_in_redirect(request: Request[Any, Any, Any], _: Unauthenticated) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or request.url.path.endswith("/live"):
        target = "/console/executions"
    return Redirect(f"/console/sign-in?{urlencode({'next': target})}", status_code=303)


def known_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, StorageError) and not isinstance(error, UnstorableValue):
        # The driver's text names the database's host and port: it goes to the log only.
        log.warning("storage unavailable: %s", error)
        message = _STORAGE_UNAVAILABLE
    for kind, status, title in _STATUS:
        if isinstance(error, kind):
            return error_page(request, status, title, message)
    return error_page(request, 400, "Something is wrong with this request", message)


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
    title = titles.get(error.status_code, "Request refused")
    return error_page(request, error.status_code, title, str(error.detail))


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("console error on %s %s", request.method, request.url.path, exc_info=error)
    return error_page(
        request, 500, "Something broke", "An unexpected error occurred; see the server log."
    )


CONSOLE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Unauthenticated: sign_in_redirect,
    ApplicationError: known_error,
    DomainError: known_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
