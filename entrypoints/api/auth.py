"""Bearer-token authentication for /api/v1 and the role guards on its handlers.

A bearer token is a Treadle API token or, when an identity provider is configured, a
person's JWT (with `X-Treadle-Workspace` naming the workspace when they have several).

EventSource cannot set headers, so the live streams (paths ending in `/stream`) also
accept the token as `?token=`; nothing else does, to keep tokens out of access logs.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from application.access import Principal, Role
from application.errors import Unauthenticated

STREAM_SUFFIX = "/stream"
WORKSPACE_HEADER = "x-treadle-workspace"
"""Which workspace a person's JWT acts in (name or id), for people in more than one."""


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if connection.url.path.endswith(STREAM_SUFFIX):
        query_token = connection.query_params.get("token")
        if query_token:
            return str(query_token)
    if header:
        raise Unauthenticated("the Authorization header must be `Bearer <token>`")
    raise Unauthenticated("send `Authorization: Bearer <token>` (create one with `treadle tokens`)")


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        authenticate = connection.app.state["services"].authenticate()
        workspace = connection.headers.get(WORKSPACE_HEADER) or None
        principal: Principal = await authenticate(bearer_token(connection), workspace)
        return AuthenticationResult(user=principal, auth=principal.token_id or principal.user_id)


def requires(role: Role) -> Guard:
    """A guard letting through tokens whose role is `role` or stronger.

    It is a coroutine function because Litestar runs a plain function guard in a worker
    thread, and the hop costs more than the check."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # answered by Litestar itself (allowed methods), and not authenticated
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):
            raise Unauthenticated()
        principal.require(role)

    return guard


EDITOR = requires(Role.EDITOR)
ADMIN = requires(Role.ADMIN)


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise Unauthenticated()
    return principal


PRINCIPAL = Provide(_principal, sync_to_thread=False)
