"""Signing in to the console through an OpenID Connect provider ("Sign in with ...").

`/console/auth/{provider}/start` sends the browser to the provider with a fresh state,
nonce and PKCE challenge, keeping what the callback needs in a short-lived cookie; the
provider sends the browser back to `/console/auth/{provider}/callback` with a code (or an
error). The callback checks the state, trades the code for an ID token (checked with the
nonce), signs the person in (joining the workspaces that invited their verified email),
and begins a console session in their oldest workspace.

Every failure answers the sign-in page with one line a person can act on. Neither the
code, nor the tokens, nor the session id appear in a page or a log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Protocol

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from application.errors import Unauthenticated
from application.people import User
from application.ports.identity import Identity
from entrypoints.console.auth_pages import sign_in_page, signed_in
from entrypoints.console.session import (
    COOKIE,
    COOKIE_PATH,
    end_session,
    safe_next,
    uses_https,
)

log = logging.getLogger("treadle.console")

AUTH_PATH = "/console/auth"
SIGN_IN_COOKIE = "treadle_sign_in"
SIGN_IN_SECONDS = 600
"""Ten minutes to get through the provider's pages."""
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class SignInStart(Protocol):
    url: str
    state: str
    nonce: str
    code_verifier: str


class Provider(Protocol):
    """What the console needs of an identity provider (`adapters.identity.oidc_client`)."""

    @property
    def label(self) -> str: ...

    async def start(self, redirect_uri: str) -> SignInStart: ...

    async def finish(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> Identity: ...


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in between its start and its callback, kept in the browser: no credential
    (the PKCE verifier is useless without the code, which only the provider hands out)."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    next: str

    def encode(self) -> str:
        text = json.dumps(asdict(self), separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> PendingSignIn | None:
        """The pending sign-in a cookie holds; None when it is missing or garbled."""
        try:
            padded = value + "=" * (-len(value) % 4)
            fields = json.loads(base64.urlsafe_b64decode(padded.encode()))
            pending = cls(**fields)
        except (ValueError, TypeError, binascii.Error):
            return None
        if not all(isinstance(field, str) for field in asdict(pending).values()):
            return None
        return pending

    def matches(self, provider: str, state: str | None) -> bool:
        """Whether the callback belongs to this sign-in (the state compared in constant
        time: it is what stops another site's forged callback)."""
        return (
            self.provider == provider
            and bool(state)
            and secrets.compare_digest(self.state.encode(), (state or "").encode())
        )


class SignInFailed(Exception):
    """A sign-in that cannot go on: what to tell the person, and the status to say it with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def redirect_uri(request: Request[Any, Any, Any], provider: str) -> str:
    """Where the provider sends the browser back: under the public address when one is
    set (a proxy may hide the real one from the request), else the request's own."""
    public_url = request.app.state["runtime"].settings.public_url
    base = (public_url or str(request.base_url)).rstrip("/")
    return f"{base}{AUTH_PATH}/{provider}/callback"


def _provider(request: Request[Any, Any, Any], name: str) -> Provider:
    provider: Provider | None = request.app.state["services"].oidc_providers().get(name)
    if provider is None:
        raise SignInFailed("There is no such sign-in provider here: pick one below.", 404)
    return provider


def _failed(request: Request[Any, Any, Any], failure: SignInFailed, next_url: str) -> Response[Any]:
    response = sign_in_page(
        request, safe_next(next_url), problem=failure.message, status=failure.status
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=AUTH_PATH)
    return response


class OidcPages(Controller):
    path = AUTH_PATH
    include_in_schema = False

    @get("/{provider_name:str}/start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        provider_name: FromPath[str],
        next_url: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Response[Any]:
        """Send the browser to the provider's sign-in page."""
        target = safe_next(next_url)
        try:
            provider = _provider(request, provider_name)
            begun = await _begin(provider, redirect_uri(request, provider_name))
        except SignInFailed as failure:
            return _failed(request, failure, target)
        pending = PendingSignIn(
            provider_name, begun.state, begun.nonce, begun.code_verifier, target
        )
        response = Redirect(begun.url, status_code=303)
        response.set_cookie(
            SIGN_IN_COOKIE,
            pending.encode(),
            max_age=SIGN_IN_SECONDS,
            path=AUTH_PATH,
            httponly=True,
            samesite="lax",
            secure=uses_https(request),
        )
        return response

    @get("/{provider_name:str}/callback")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        provider_name: FromPath[str],
        code: FromQuery[str | None] = None,
        returned_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Finish the sign-in the provider sends the browser back from."""
        pending = PendingSignIn.decode(request.cookies.get(SIGN_IN_COOKIE, ""))
        # The cookie is not signed: whoever can plant it chooses `next`, so it is checked
        # again here, not only when the sign-in starts.
        target = safe_next(pending.next if pending is not None else None)
        try:
            provider = _provider(request, provider_name)
            identity = await _identity(
                request, provider, provider_name, pending, code, returned_state, error
            )
            return await _session_for(request, identity, target)
        except SignInFailed as failure:
            return _failed(request, failure, target)


async def _begin(provider: Provider, callback: str) -> SignInStart:
    try:
        return await provider.start(callback)
    except Exception as error:  # the provider's failure, whatever it is, is not ours
        log.warning("sign-in with %s could not start: %s", provider.label, error)
        raise SignInFailed(
            f"{provider.label} could not be reached: try again in a minute, or ask your "
            "admin to check its settings.",
            502,
        ) from None


async def _identity(
    request: Request[Any, Any, Any],
    provider: Provider,
    provider_name: str,
    pending: PendingSignIn | None,
    code: str | None,
    state: str | None,
    error: str | None,
) -> Identity:
    """The person the callback stands for, once every check passed."""
    if error:
        raise SignInFailed(_provider_refusal(provider.label, error), 401)
    if pending is None or not pending.matches(provider_name, state):
        raise SignInFailed(
            "This sign-in expired, or began in another window: start again below.", 400
        )
    if not code:
        raise SignInFailed(f"{provider.label} sent no sign-in code: start again below.", 400)
    try:
        return await provider.finish(
            code, redirect_uri(request, provider_name), pending.code_verifier, pending.nonce
        )
    except Unauthenticated as refused:
        log.warning("sign-in with %s refused: %s", provider.label, refused.message)
        raise SignInFailed(
            f"{provider.label}'s answer could not be verified: start again below.", 401
        ) from None
    except Exception as failed:  # the provider's failure, whatever it is, is not ours
        log.warning("sign-in with %s failed: %s", provider.label, failed)
        raise SignInFailed(
            f"Signing in with {provider.label} did not complete: start again below.", 401
        ) from None


def _provider_refusal(label: str, error: str) -> str:
    """What a provider's `error=` means to the person; its description is not shown (any
    site can send a browser here with any text)."""
    if error == "access_denied":
        return f"{label} did not sign you in (you cancelled, or it refused): start again below."
    shown = error if _ERROR_CODE.match(error) else "an error"
    return f"{label} answered {shown} instead of signing you in: start again below."


async def _session_for(
    request: Request[Any, Any, Any], identity: Identity, next_url: str
) -> Response[Any]:
    """Sign the person in and begin a session in their oldest workspace; the not-a-member
    page when they have none.

    Either way the browser's earlier session ends: the browser now stands for whoever
    just signed in, and must not go on acting under an earlier sign-in (perhaps someone
    else's token)."""
    services = request.app.state["services"]
    user: User = await services.sign_in()(identity)
    workspaces = await services.people_queries().workspaces_of(user.id)
    await end_session(request)
    if not workspaces:
        response: Response[Any] = _not_a_member(user, identity)
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    else:
        secret = await services.console_sessions().begin_for_user(user, workspaces[0].workspace.id)
        response = signed_in(request, secret, next_url)
    response.delete_cookie(SIGN_IN_COOKIE, path=AUTH_PATH)
    return response


def _not_a_member(user: User, identity: Identity) -> Template:
    context = {
        "title": "Not a member yet",
        "principal": None,
        "name": user.display_name,
        "email": user.email,
        "unverified": bool(user.email) and not identity.email_verified,
    }
    return Template("not_a_member.html", context=context, status_code=403)
