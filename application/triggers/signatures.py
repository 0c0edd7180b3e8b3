"""Verifying that a hook request comes from whoever holds the trigger's secret.

Pure functions over the raw body, the lower-cased headers, the secret and the time (in
seconds since the epoch): no I/O. Every comparison of a secret or a signature runs in
constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from application.errors import ApplicationError


class InvalidSignature(ApplicationError):
    """The request's signature or secret does not match this trigger's."""

    code = "invalid_signature"


class SignatureExpired(ApplicationError):
    """The signature's timestamp is too far from now: a replayed or delayed request."""

    code = "signature_expired"


GITHUB_HEADER = "x-hub-signature-256"
STRIPE_HEADER = "stripe-signature"
SHA256_PREFIX = "sha256="


def verify(
    verification: str,
    *,
    secret: str | None,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    header: str | None = None,
    tolerance_seconds: int = 300,
) -> None:
    """Raise `InvalidSignature` (or `SignatureExpired`) unless the request passes."""
    if verification == "none":
        return
    if not secret:
        raise InvalidSignature("this trigger has no secret to verify with")
    if verification == "header_secret":
        _same(headers.get(header or ""), secret, f"the {header} header")
    elif verification == "github":
        _check_hex(headers.get(GITHUB_HEADER), secret, body, GITHUB_HEADER, prefixed=True)
    elif verification == "hmac_sha256":
        _check_hex(headers.get(header or ""), secret, body, str(header), prefixed=False)
    elif verification == "stripe":
        check_stripe(headers.get(STRIPE_HEADER), secret, body, now, tolerance_seconds)
    else:
        raise InvalidSignature(f"unknown verification {verification!r}")


def sign(secret: str, payload: bytes) -> str:
    """The hex HMAC-SHA256 of `payload` under `secret`, as GitHub and Stripe compute it."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str, where: str) -> None:
    if given is None:
        raise InvalidSignature(f"{where} is missing")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise InvalidSignature(f"{where} does not match the trigger's secret")


def _check_hex(value: str | None, secret: str, body: bytes, name: str, *, prefixed: bool) -> None:
    if value is None:
        raise InvalidSignature(f"the {name} header is missing")
    value = value.strip()
    if value.lower().startswith(SHA256_PREFIX):
        value = value[len(SHA256_PREFIX) :]
    elif prefixed:
        raise InvalidSignature(f"the {name} header must be sha256=<hex>")
    _same(value.lower(), sign(secret, body), f"the {name} signature")


def check_stripe(
    value: str | None, secret: str, body: bytes, now: float, tolerance_seconds: int
) -> None:
    """`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]` signs `"{t}.{body}"`; any
    `v1` may match (Stripe sends two while a secret is being rolled)."""
    if value is None:
        raise InvalidSignature(f"the {STRIPE_HEADER} header is missing")
    timestamp, signatures = _stripe_parts(value)
    expected = sign(secret, f"{timestamp}.".encode() + body).encode("ascii")
    if not any(hmac.compare_digest(s.lower().encode(), expected) for s in signatures):
        raise InvalidSignature(f"no v1 signature in {STRIPE_HEADER} matches the secret")
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureExpired(
            f"the signature's timestamp is more than {tolerance_seconds} s from now"
        )


def _stripe_parts(value: str) -> tuple[int, list[str]]:
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t":
            timestamps.append(item)
        elif key == "v1":
            signatures.append(item.strip())
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise InvalidSignature(f"{STRIPE_HEADER} must hold one t=<unix time>")
    if not signatures or not all(s.isascii() for s in signatures):
        raise InvalidSignature(f"{STRIPE_HEADER} holds no v1 signature")
    if len(timestamps[0]) > 12:
        raise InvalidSignature(f"{STRIPE_HEADER} has a timestamp out of range")
    return int(timestamps[0]), signatures
