"""Checks JWTs signed by trusted identity providers and says whom they name.

Nothing here logs or repeats a token: refusal messages name only what was wrong.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import jwt

from adapters.clock import SystemClock
from adapters.identity.discovery import DiscoveryCache, IdentityProviderError
from adapters.identity.issuers import IssuerConfig
from adapters.identity.jwks import JwksCache, KeyNotFound
from application.errors import Unauthenticated
from application.ports.clock import Clock
from application.ports.identity import Identity

_log = logging.getLogger(__name__)

TREADLE_TOKEN_PREFIX = "trd_"
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
REQUIRED_CLAIMS = ["exp", "iss", "sub"]

# Time claims are checked against our clock, not PyJWT's, so tests can move it.
_DECODE_OPTIONS: jwt.types.Options = {
    "require": REQUIRED_CLAIMS,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


class JwtVerifier:
    """An `IdentityVerifier` for the configured issuers' JWTs.

    Keys come from each issuer's JWKS (fetched over `http`, or a client of its own), or,
    for HS256, from the issuer's shared secret. `leeway_seconds` forgives clocks that
    disagree a little about `exp` and `nbf`.
    """

    def __init__(
        self,
        issuers: Sequence[IssuerConfig],
        http: httpx.AsyncClient | None = None,
        leeway_seconds: float = 30,
        clock: Clock | None = None,
    ) -> None:
        self._issuers = _by_issuer(issuers)
        self._owns_http = http is None
        self.http = http or _own_client()
        self.clock: Clock = clock or SystemClock()
        self.discovery = DiscoveryCache(self.http, clock=self.clock)
        self.jwks = JwksCache(self.http, clock=self.clock)
        self._leeway = leeway_seconds

    @property
    def issuers(self) -> Mapping[str, IssuerConfig]:
        return self._issuers

    async def aclose(self) -> None:
        """Close the HTTP client if this verifier made it."""
        if self._owns_http:
            await self.http.aclose()

    def recognises(self, token: str) -> bool:
        return not token.startswith(TREADLE_TOKEN_PREFIX) and bool(_JWT_SHAPE.match(token))

    async def verify(
        self, token: str, *, audience: str | None = None, nonce: str | None = None
    ) -> Identity:
        if not self.recognises(token):
            raise Unauthenticated("the bearer token is not a JWT")
        header, issuer = _unverified_header_and_issuer(token)
        config = self._issuers.get(issuer)
        if config is None:
            raise Unauthenticated("the token's issuer is not trusted here")
        algorithm, key = await self._key(config, header)
        claims = self._decode(token, key, algorithm, config, audience or config.audience)
        self._check_times(claims)
        _check_nonce(claims, nonce)
        return identity_from_claims(config, claims)

    async def _key(self, config: IssuerConfig, header: Mapping[str, Any]) -> tuple[str, Any]:
        """The algorithm and key to check a token with this header, as the issuer's
        configuration (never the token) allows."""
        algorithm = header.get("alg")
        if algorithm == "HS256" and config.hs256_secret:
            return algorithm, config.hs256_secret
        if not isinstance(algorithm, str) or algorithm not in config.asymmetric_algorithms:
            raise Unauthenticated("the token's signing algorithm is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("the token's key id is malformed")
        try:
            jwk = await self.jwks.key_for(await self._jwks_url(config), kid, algorithm)
        except KeyNotFound:
            raise Unauthenticated("the token was signed with an unknown key") from None
        except IdentityProviderError as error:
            _log.warning("cannot check tokens from %s: %s", config.issuer, error)
            raise Unauthenticated("the token's issuer could not be reached") from None
        return algorithm, jwk.key

    async def _jwks_url(self, config: IssuerConfig) -> str:
        if config.jwks_url:
            return config.jwks_url
        document = await self.discovery.get(config.issuer)
        if document.jwks_uri is None:
            raise IdentityProviderError(f"{config.issuer}'s discovery document has no jwks_uri")
        return document.jwks_uri

    def _decode(
        self, token: str, key: Any, algorithm: str, config: IssuerConfig, audience: str
    ) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=config.issuer,
                options=_DECODE_OPTIONS,
            )
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the token lacks the {error.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is meant for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token's issuer is not trusted here") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature is invalid") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            # A key of the wrong kind for the algorithm, a malformed claim, ...
            raise Unauthenticated("the token is invalid") from None

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self.clock.now().timestamp()
        expires = _number(claims.get("exp"), "exp")
        if now > expires + self._leeway:
            raise Unauthenticated("the token has expired")
        if "nbf" in claims and now < _number(claims["nbf"], "nbf") - self._leeway:
            raise Unauthenticated("the token is not valid yet")


def _by_issuer(issuers: Sequence[IssuerConfig]) -> dict[str, IssuerConfig]:
    by_issuer: dict[str, IssuerConfig] = {}
    for config in issuers:
        if config.issuer in by_issuer:
            raise ValueError(f"issuer {config.issuer!r} is configured twice")
        by_issuer[config.issuer] = config
    return by_issuer


def _unverified_header_and_issuer(token: str) -> tuple[dict[str, Any], str]:
    """What the token says about itself, read before trusting it, only to pick a key."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Unauthenticated("the token is malformed") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise Unauthenticated("the token lacks the 'iss' claim")
    return header, issuer


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"the token's {name!r} claim is not a number")
    return float(value)


def _check_nonce(claims: Mapping[str, Any], expected: str | None) -> None:
    if expected is None:
        return
    found = claims.get("nonce")
    if not isinstance(found, str) or not hmac.compare_digest(found.encode(), expected.encode()):
        raise Unauthenticated("the token's nonce does not match this sign-in")


def identity_from_claims(config: IssuerConfig, claims: Mapping[str, Any]) -> Identity:
    """The person a verified token's claims describe."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the token lacks the 'sub' claim")
    email = claims.get("email")
    email = email.strip().lower() if isinstance(email, str) and email.strip() else None
    return Identity(
        issuer=config.issuer,
        subject=subject,
        email=email,
        email_verified=email is not None and _email_verified(config, claims),
        name=_name(claims),
    )


def _email_verified(config: IssuerConfig, claims: Mapping[str, Any]) -> bool:
    """Whether the issuer vouches for the address: its own `email_verified` claim, or, for
    an issuer whose tokens carry none, its configuration (`confirms_emails`). Nothing a
    person can write themselves (Supabase's `user_metadata`) counts."""
    verified = claims.get("email_verified")
    if verified is None:
        return config.confirms_emails and claims.get("is_anonymous") is not True
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def _name(claims: Mapping[str, Any]) -> str:
    metadata = claims.get("user_metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    for value in (
        claims.get("name"),
        metadata.get("full_name"),
        metadata.get("name"),
        claims.get("preferred_username"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _own_client() -> httpx.AsyncClient:
    """A client that keeps no connection open between requests: its fetches are rare (the
    documents are cached), and it may serve more than one event loop (an API test client,
    a restarted loop), which must not find a socket of a loop that has ended."""
    return httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0))
