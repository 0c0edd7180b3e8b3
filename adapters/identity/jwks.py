"""Issuers' public keys (JWKS), kept for a while and refetched when a token names a key
we have not seen: that is how providers rotate keys."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from adapters.clock import SystemClock
from adapters.identity.discovery import IdentityProviderError, get_json
from application.ports.clock import Clock

_log = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS = 600.0
DEFAULT_MIN_REFETCH_SECONDS = 30.0

# The key type each family of algorithms signs with.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class KeyNotFound(Exception):
    """No key in the issuer's set can check this token (no such `kid`, or no single
    signing key to fall back on)."""


@dataclass
class _KeySet:
    """One JWKS address: its usable keys and when they were (last tried to be) fetched."""

    keys: list[dict[str, Any]] | None = None
    fetched_at: float | None = None
    attempted_at: float | None = None
    fetches: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def usable_keys(document: Any) -> list[dict[str, Any]]:
    """The signing keys of a JWKS document that PyJWT understands; others are skipped
    (a set may hold encryption keys, or key types this version does not know)."""
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise IdentityProviderError("the key set has no `keys` list")
    usable = [raw for raw in raw_keys if _is_signing_key(raw)]
    if not usable:
        raise IdentityProviderError("the key set has no usable signing key")
    return usable


def _is_signing_key(raw: Any) -> bool:
    if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
        return False
    try:
        jwt.PyJWK(raw)
    except jwt.PyJWTError:
        return False
    return True


def _fits(raw: dict[str, Any], algorithm: str) -> bool:
    """Whether a key can check a signature made with `algorithm`."""
    if raw.get("alg") not in (None, algorithm):
        return False
    return raw.get("kty") == _KEY_TYPES.get(algorithm[:2])


def pick_key(keys: list[dict[str, Any]], kid: str | None, algorithm: str) -> jwt.PyJWK | None:
    """The key a token with this header names: by `kid`, or, when the token names none,
    the set's only key for the algorithm."""
    candidates = [
        raw for raw in keys if (kid is None or raw.get("kid") == kid) and _fits(raw, algorithm)
    ]
    if len(candidates) != 1:
        return None
    try:
        return jwt.PyJWK(candidates[0], algorithm=algorithm)
    except jwt.PyJWTError:
        return None


class JwksCache:
    """Keys by JWKS address.

    A set is kept `max_age_seconds`. A token naming a `kid` the set lacks triggers a
    refetch at once, but at most one per `min_refetch_seconds` per address, so tokens
    with made-up kids cannot make us hammer the provider. Concurrent refetches of one
    address share a single request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        min_refetch_seconds: float = DEFAULT_MIN_REFETCH_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._clock: Clock = clock or SystemClock()
        self._sets: dict[str, _KeySet] = {}

    async def key_for(self, url: str, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key at `url` that checks a token with this `kid` and `alg`.

        Raises `KeyNotFound` when there is none even after any refetch allowed, and
        `IdentityProviderError` when the set could never be fetched."""
        key_set = self._sets.setdefault(url, _KeySet())
        if self._stale(key_set) and self._may_refresh(key_set):
            await self._refresh(url, key_set)
        if key_set.keys is None:
            raise IdentityProviderError(f"the key set at {url} is unavailable")
        key = pick_key(key_set.keys, kid, algorithm)
        if key is None and self._may_refresh(key_set):
            await self._refresh(url, key_set)
            key = pick_key(key_set.keys, kid, algorithm)
        if key is None:
            raise KeyNotFound()
        return key

    def _stale(self, key_set: _KeySet) -> bool:
        return (
            key_set.fetched_at is None
            or self._clock.monotonic() - key_set.fetched_at > self._max_age
        )

    def _may_refresh(self, key_set: _KeySet) -> bool:
        """Whether to fetch the set now, or wait for the fetch under way; at most one
        fetch starts per `min_refetch_seconds`."""
        if key_set.lock.locked():
            return True
        return (
            key_set.attempted_at is None
            or self._clock.monotonic() - key_set.attempted_at >= self._min_refetch
        )

    async def _refresh(self, url: str, key_set: _KeySet) -> None:
        """Fetch the set once, whoever else asks meanwhile; a failed fetch keeps the keys
        we had (a provider's short outage should not log everyone out)."""
        seen = key_set.fetches
        async with key_set.lock:
            if key_set.fetches != seen:
                return  # Someone fetched it while we waited for the lock.
            key_set.attempted_at = self._clock.monotonic()
            try:
                keys = usable_keys(await get_json(self._http, url, "key set"))
            except IdentityProviderError as error:
                _log.warning("could not refresh keys: %s", error)
                if key_set.keys is None:
                    raise
                return
            finally:
                # Counted once the fetch is over, so that whoever waited for it sees it.
                key_set.fetches += 1
            key_set.keys = keys
            key_set.fetched_at = key_set.attempted_at
