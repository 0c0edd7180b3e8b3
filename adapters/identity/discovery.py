"""OpenID Connect discovery: an issuer's endpoints and key address, read from
`{issuer}/.well-known/openid-configuration` and kept for a while."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.clock import SystemClock
from application.ports.clock import Clock

_log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
DEFAULT_MAX_AGE_SECONDS = 3600.0
DEFAULT_RETRY_AFTER_SECONDS = 30.0
"""How long a failed fetch is remembered before the provider is asked again."""


class IdentityProviderError(Exception):
    """An identity provider could not be reached, or answered something unusable.

    Messages name the provider's address and what went wrong, never a token, code or
    secret."""


@dataclass(frozen=True)
class DiscoveryDocument:
    """The parts of a discovery document Treadle uses; `raw` holds all of it."""

    issuer: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    jwks_uri: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def token_auth_methods(self) -> tuple[str, ...]:
        """How the token endpoint accepts client credentials; `client_secret_basic` is
        the default the specification gives when the document says nothing."""
        methods = self.raw.get("token_endpoint_auth_methods_supported")
        if not isinstance(methods, list) or not methods:
            return ("client_secret_basic",)
        return tuple(str(method) for method in methods)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def parse_discovery(issuer: str, document: Any) -> DiscoveryDocument:
    """Checks that `document` is an object describing `issuer` itself: a document that
    names another issuer could hand us someone else's keys."""
    if not isinstance(document, dict):
        raise IdentityProviderError(f"{discovery_url(issuer)} did not answer a JSON object")
    named = document.get("issuer")
    if named != issuer:
        raise IdentityProviderError(
            f"{discovery_url(issuer)} describes issuer {named!r}, not {issuer!r}"
        )
    return DiscoveryDocument(
        issuer=issuer,
        authorization_endpoint=_optional_url(document, "authorization_endpoint"),
        token_endpoint=_optional_url(document, "token_endpoint"),
        jwks_uri=_optional_url(document, "jwks_uri"),
        raw=document,
    )


def _optional_url(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value else None


async def get_json(http: httpx.AsyncClient, url: str, what: str) -> Any:
    """GET `url` and decode its JSON body; any failure becomes an `IdentityProviderError`
    that says which document (`what`) could not be read."""
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise IdentityProviderError(
            f"could not fetch the {what} at {url}: {type(error).__name__}"
        ) from error
    if response.status_code != 200:
        raise IdentityProviderError(f"the {what} at {url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise IdentityProviderError(f"the {what} at {url} is not JSON") from error


@dataclass
class _Cached:
    document: DiscoveryDocument
    fetched_at: float


@dataclass(frozen=True)
class _Failure:
    """The last failed fetch of an issuer's document: what went wrong, and when."""

    error: IdentityProviderError
    at: float


class DiscoveryCache:
    """Each issuer's discovery document, fetched on first use and again once it is older
    than `max_age_seconds`; concurrent requests for the same issuer share one fetch.

    A failed fetch is remembered for `retry_after_seconds`: meanwhile the issuer's
    document is the one we had, however old, or the same error at once. Without this,
    while a provider is down every request carrying one of its tokens would wait on its
    own fetch (up to the client's timeout), one after another behind the lock."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        retry_after_seconds: float = DEFAULT_RETRY_AFTER_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._max_age = max_age_seconds
        self._retry_after = retry_after_seconds
        self._clock: Clock = clock or SystemClock()
        self._cached: dict[str, _Cached] = {}
        self._failures: dict[str, _Failure] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, issuer: str) -> DiscoveryDocument:
        """The issuer's document; raises `IdentityProviderError` when it cannot be read."""
        known = self._known(issuer)
        if known is not None:
            return known
        async with self._locks.setdefault(issuer, asyncio.Lock()):
            # Whoever held the lock before us may have fetched it (or failed to) already.
            known = self._known(issuer)
            if known is not None:
                return known
            return await self._fetch(issuer)

    def _known(self, issuer: str) -> DiscoveryDocument | None:
        """The document to answer without fetching: a fresh one, or, shortly after a
        failed fetch, whatever we have (raising that failure's error when we have none)."""
        cached = self._cached.get(issuer)
        now = self._clock.monotonic()
        if cached is not None and now - cached.fetched_at <= self._max_age:
            return cached.document
        failure = self._failures.get(issuer)
        if failure is None or now - failure.at >= self._retry_after:
            return None
        if cached is not None:
            return cached.document
        raise IdentityProviderError(str(failure.error))

    async def _fetch(self, issuer: str) -> DiscoveryDocument:
        """Fetch the document and remember the outcome; a failure falls back on the
        document we had (a provider's short outage should not refuse every token)."""
        try:
            document = parse_discovery(
                issuer, await get_json(self._http, discovery_url(issuer), "discovery document")
            )
        except IdentityProviderError as error:
            self._failures[issuer] = _Failure(error, self._clock.monotonic())
            cached = self._cached.get(issuer)
            if cached is None:
                raise
            _log.warning("could not refresh a discovery document: %s", error)
            return cached.document
        self._failures.pop(issuer, None)
        self._cached[issuer] = _Cached(document, self._clock.monotonic())
        return document
