"""The relying-party side of OpenID Connect sign-in: the authorization-code flow with
PKCE (RFC 7636).

`start` makes the address to send the browser to, and the secrets to keep until it comes
back (state, nonce, PKCE verifier: the console keeps them in a short-lived cookie);
`finish` trades the code it brings back for an ID token and checks that token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from adapters.identity.discovery import DiscoveryCache, IdentityProviderError
from adapters.identity.jwt_verifier import JwtVerifier
from application.errors import Unauthenticated
from application.ports.identity import Identity

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
_ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True)
class SignInStart:
    """Where to send the browser, and what to keep until it comes back: `state` must
    match the callback's, `nonce` the ID token's, and `code_verifier` goes with the
    code to the token endpoint."""

    url: str
    state: str
    nonce: str
    # It too travels through the browser (in the HttpOnly sign-in cookie), but is useless
    # without the code, which only the provider hands out; kept out of repr all the same.
    code_verifier: str = field(repr=False)


def code_challenge(code_verifier: str) -> str:
    """The S256 PKCE challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start_sign_in(
    authorization_endpoint: str | Mapping[str, Any],
    client_id: str,
    redirect_uri: str,
    scopes: str = "openid email profile",
) -> SignInStart:
    """A new sign-in: fresh random state, nonce and PKCE verifier, and the authorization
    address that carries them. `authorization_endpoint` is the address itself or a
    discovery document naming it."""
    endpoint = _authorization_endpoint(authorization_endpoint)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    # 64 characters: within PKCE's 43 to 128.
    code_verifier = secrets.token_urlsafe(48)
    parameters = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes,
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    return SignInStart(_with_query(endpoint, parameters), state, nonce, code_verifier)


def _authorization_endpoint(source: str | Mapping[str, Any]) -> str:
    if isinstance(source, str):
        return source
    endpoint = source.get("authorization_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise IdentityProviderError("the discovery document names no authorization_endpoint")
    return endpoint


def _with_query(url: str, parameters: Mapping[str, str]) -> str:
    """`url` with `parameters` added to whatever query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *parameters.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def exchange_code(
    http: httpx.AsyncClient,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None,
    code_verifier: str,
    *,
    auth_method: ClientAuthMethod = "client_secret_basic",
) -> dict[str, Any]:
    """The token endpoint's answer for an authorization code: a dict with an `id_token`.

    A confidential client authenticates with HTTP Basic (`client_secret_basic`, the
    method every OpenID provider must support), or in the form (`client_secret_post`)
    when asked; a public client (no secret) sends only its id, PKCE proving the rest.
    Raises `IdentityProviderError` naming the provider's `error` and
    `error_description`, never the code or secret."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    headers = {"Accept": "application/json"}
    if client_secret is None:
        form["client_id"] = client_id
    elif auth_method == "client_secret_post":
        form |= {"client_id": client_id, "client_secret": client_secret}
    else:
        headers["Authorization"] = _basic_auth(client_id, client_secret)
    try:
        response = await http.post(token_endpoint, data=form, headers=headers)
    except httpx.HTTPError as error:
        raise IdentityProviderError(
            f"could not reach the token endpoint {token_endpoint}: {type(error).__name__}"
        ) from None
    return _token_response(token_endpoint, response)


def _basic_auth(client_id: str, client_secret: str) -> str:
    """The Authorization header value; RFC 6749 §2.3.1 form-encodes both parts first."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _token_response(token_endpoint: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success:
        raise IdentityProviderError(
            f"the token endpoint {token_endpoint} refused the code "
            f"(HTTP {response.status_code}{_provider_error(body)})"
        )
    if not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        raise IdentityProviderError(f"the token endpoint {token_endpoint} sent no id_token")
    return body


def _provider_error(body: Any) -> str:
    """`: error: description` from an OAuth error answer, cut short; "" when absent."""
    if not isinstance(body, dict):
        return ""
    words = [str(body[name]) for name in ("error", "error_description") if body.get(name)]
    return (": " + ": ".join(words))[:_ERROR_TEXT_LIMIT] if words else ""


class OidcProvider:
    """One provider people sign in with: its discovery document, its client
    registration, and the verifier that checks the ID tokens it issues."""

    def __init__(
        self,
        *,
        name: str,
        issuer: str,
        client_id: str,
        verifier: JwtVerifier,
        title: str = "",
        client_secret: str | None = None,
        scopes: str = "openid email profile",
        discovery: DiscoveryCache | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes
        self._verifier = verifier
        self._discovery = discovery or verifier.discovery
        self._http = http or verifier.http

    def __repr__(self) -> str:
        return f"OidcProvider(name={self.name!r}, issuer={self.issuer!r})"

    @property
    def label(self) -> str:
        return self.title or self.name

    async def start(self, redirect_uri: str) -> SignInStart:
        """A new sign-in whose callback is `redirect_uri`."""
        document = await self._discovery.get(self.issuer)
        return start_sign_in(document.raw, self.client_id, redirect_uri, self.scopes)

    async def finish(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> Identity:
        """The person the callback's `code` stands for. The ID token must be this
        provider's, for this client, and carry this sign-in's nonce; raises
        `Unauthenticated` otherwise, `IdentityProviderError` when the provider fails."""
        document = await self._discovery.get(self.issuer)
        if document.token_endpoint is None:
            raise IdentityProviderError(f"{self.issuer}'s discovery document has no token_endpoint")
        tokens = await exchange_code(
            self._http,
            document.token_endpoint,
            code,
            redirect_uri,
            self.client_id,
            self._client_secret,
            code_verifier,
            auth_method=self._auth_method(document.token_auth_methods),
        )
        identity = await self._verifier.verify(
            tokens["id_token"], audience=self.client_id, nonce=nonce
        )
        # The verifier trusts every configured issuer; this callback only this one.
        if identity.issuer != self.issuer:
            raise Unauthenticated("the ID token comes from another provider")
        return identity

    def _auth_method(self, supported: tuple[str, ...]) -> ClientAuthMethod:
        if "client_secret_basic" not in supported and "client_secret_post" in supported:
            return "client_secret_post"
        return "client_secret_basic"
