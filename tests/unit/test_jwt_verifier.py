"""The JWT verifier against a real local issuer: discovery, JWKS, key rotation, and every
way a token can be refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest

from adapters.clock import FakeClock
from adapters.identity.issuers import IssuerConfig, supabase_issuer
from adapters.identity.jwt_verifier import JwtVerifier
from application.errors import Unauthenticated
from application.ports.identity import Identity
from tests.support.identity_provider import (
    KEY_A,
    KEY_B,
    KEY_EC,
    IssuerServer,
    SigningKey,
    sign,
)

AUDIENCE = "treadle-api"
SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


@pytest.fixture
def server() -> Iterator[IssuerServer]:
    with IssuerServer([KEY_A]) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def verifier(server: IssuerServer, clock: FakeClock) -> AsyncIterator[JwtVerifier]:
    async with httpx.AsyncClient() as http:
        yield JwtVerifier([IssuerConfig(server.issuer, AUDIENCE)], http=http, clock=clock)


def claims(server: IssuerServer, clock: FakeClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    base = {
        "iss": server.issuer,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "email": "Ada@Example.COM",
        "email_verified": True,
        "name": "Ada Lovelace",
    }
    return {name: value for name, value in (base | changes).items() if value is not None}


def hs256_by_hand(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token made without PyJWT, which (rightly) refuses a PEM as HMAC secret."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + "."
        + part(json.dumps(payload).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


async def refused(verifier: JwtVerifier, token: str, **kwargs: Any) -> str:
    """The refusal's message, which must not repeat the token."""
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token, **kwargs)
    message = str(caught.value)
    assert token not in message
    assert token.split(".")[1] not in message
    return message


async def test_a_valid_rs256_token_names_its_person(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    identity = await verifier.verify(sign(claims(server, clock)))

    assert identity == Identity(
        issuer=server.issuer,
        subject="user-1",
        email="ada@example.com",
        email_verified=True,
        name="Ada Lovelace",
    )


async def test_discovery_and_keys_are_fetched_once_for_many_tokens(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    for subject in ("a", "b", "c"):
        await verifier.verify(sign(claims(server, clock, sub=subject)))

    assert server.fetches("/.well-known/openid-configuration") == 1
    assert server.jwks_fetches == 1


async def test_a_rotated_key_is_fetched_and_junk_kids_do_not_hammer_the_provider(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    await verifier.verify(sign(claims(server, clock)))
    server.keys = [KEY_B]
    clock.advance(31)

    identity = await verifier.verify(sign(claims(server, clock), KEY_B))
    assert identity.subject == "user-1"
    assert server.jwks_fetches == 2

    junk = sign(claims(server, clock), KEY_B, kid="no-such-key")
    assert "unknown key" in await refused(verifier, junk)
    assert "unknown key" in await refused(verifier, junk)
    assert server.jwks_fetches == 2

    clock.advance(31)
    await refused(verifier, junk)
    assert server.jwks_fetches == 3


async def test_concurrent_tokens_with_a_new_kid_share_one_refetch(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    await verifier.verify(sign(claims(server, clock)))
    server.keys = [KEY_A, KEY_B]
    clock.advance(31)

    tokens = [sign(claims(server, clock, sub=f"user-{n}"), KEY_B) for n in range(8)]
    identities = await asyncio.gather(*(verifier.verify(token) for token in tokens))

    assert [identity.subject for identity in identities] == [f"user-{n}" for n in range(8)]
    assert server.jwks_fetches == 2


async def test_a_token_without_kid_uses_the_only_signing_key(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    token = jwt.encode(claims(server, clock), KEY_A.private, algorithm="RS256")

    assert (await verifier.verify(token)).subject == "user-1"


async def test_alg_none_is_refused(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    token = jwt.encode(claims(server, clock), "", algorithm="none")

    assert "algorithm" in await refused(verifier, token)


async def test_hs256_signed_with_the_public_key_is_refused_where_only_rs256_is_configured(
    server: IssuerServer, clock: FakeClock
) -> None:
    config = IssuerConfig(server.issuer, AUDIENCE, asymmetric_algorithms=("RS256",))
    token = hs256_by_hand(claims(server, clock), KEY_A.public_pem())
    async with httpx.AsyncClient() as http:
        verifier = JwtVerifier([config], http=http, clock=clock)

        assert "algorithm" in await refused(verifier, token)
    assert server.requests == []


async def test_a_signature_by_another_key_is_refused(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    forged = sign(claims(server, clock), KEY_B, kid=KEY_A.kid)

    assert "signature" in await refused(verifier, forged)


async def test_expiry_and_not_before_allow_thirty_seconds_of_leeway(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    now = int(clock.now().timestamp())

    assert "expired" in await refused(verifier, sign(claims(server, clock, exp=now - 31)))
    assert "not valid yet" in await refused(verifier, sign(claims(server, clock, nbf=now + 31)))
    await verifier.verify(sign(claims(server, clock, exp=now - 20)))
    await verifier.verify(sign(claims(server, clock, nbf=now + 20)))


async def test_the_audience_must_match_the_issuers_or_the_one_asked_for(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    token = sign(claims(server, clock, aud="someone-else"))

    assert "audience" in await refused(verifier, token)
    assert (await verifier.verify(token, audience="someone-else")).subject == "user-1"
    assert "audience" in await refused(verifier, sign(claims(server, clock)), audience="other")


async def test_an_unknown_issuer_is_refused_without_any_request(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    token = sign(claims(server, clock, iss="https://evil.example"))

    assert "issuer" in await refused(verifier, token)
    assert server.requests == []


@pytest.mark.parametrize("claim", ["sub", "exp"])
async def test_a_token_without_a_required_claim_is_refused(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock, claim: str
) -> None:
    token = sign(claims(server, clock, **{claim: None}))

    assert claim in await refused(verifier, token)


async def test_the_nonce_must_be_the_one_expected(
    verifier: JwtVerifier, server: IssuerServer, clock: FakeClock
) -> None:
    with_nonce = sign(claims(server, clock, nonce="n-1"))

    assert (await verifier.verify(with_nonce, nonce="n-1")).subject == "user-1"
    assert "nonce" in await refused(verifier, with_nonce, nonce="n-2")
    assert "nonce" in await refused(verifier, sign(claims(server, clock)), nonce="n-1")


@pytest.mark.parametrize(
    ("changes", "verified", "name"),
    [
        ({"email_verified": "true"}, True, "Ada Lovelace"),
        ({"email_verified": False}, False, "Ada Lovelace"),
        ({"email_verified": None}, False, "Ada Lovelace"),
        ({"name": None, "preferred_username": "ada"}, True, "ada"),
        ({"name": None}, True, ""),
    ],
)
async def test_claims_map_to_the_identity(
    verifier: JwtVerifier,
    server: IssuerServer,
    clock: FakeClock,
    changes: dict[str, Any],
    verified: bool,
    name: str,
) -> None:
    identity = await verifier.verify(sign(claims(server, clock, **changes)))

    assert (identity.email_verified, identity.name) == (verified, name)


def supabase_claims(server: IssuerServer, clock: FakeClock) -> dict[str, Any]:
    return claims(
        server,
        clock,
        iss=f"{server.url}/auth/v1",
        aud="authenticated",
        role="authenticated",
        email="Grace@Example.com",
        email_verified=None,
        name=None,
        user_metadata={"full_name": "Grace Hopper"},
    )


async def test_a_supabase_hs256_token_verifies_with_the_project_secret(
    server: IssuerServer, clock: FakeClock
) -> None:
    token = jwt.encode(supabase_claims(server, clock), SUPABASE_SECRET, algorithm="HS256")
    config = supabase_issuer(f"{server.url}/", "authenticated", SUPABASE_SECRET)
    async with httpx.AsyncClient() as http:
        verifier = JwtVerifier([config], http=http, clock=clock)

        identity = await verifier.verify(token)

        wrong = jwt.encode(supabase_claims(server, clock), "x" * 40, algorithm="HS256")
        assert "signature" in await refused(verifier, wrong)
    assert identity == Identity(
        issuer=f"{server.url}/auth/v1",
        subject="user-1",
        email="grace@example.com",
        email_verified=True,
        name="Grace Hopper",
    )
    assert server.requests == []


@pytest.mark.parametrize(
    ("confirms_emails", "changes", "verified"),
    [
        (True, {}, True),
        (True, {"is_anonymous": True}, False),
        (True, {"email_verified": False}, False),
        (False, {}, False),
        # `user_metadata` is the person's own to write: it vouches for nothing.
        (False, {"user_metadata": {"email_verified": True}}, False),
    ],
)
async def test_a_supabase_email_counts_as_verified_only_as_the_project_is_configured(
    server: IssuerServer,
    clock: FakeClock,
    confirms_emails: bool,
    changes: dict[str, Any],
    verified: bool,
) -> None:
    payload = {**supabase_claims(server, clock), **changes}
    token = jwt.encode(payload, SUPABASE_SECRET, algorithm="HS256")
    config = supabase_issuer(server.url, "authenticated", SUPABASE_SECRET, confirms_emails)
    async with httpx.AsyncClient() as http:
        identity = await JwtVerifier([config], http=http, clock=clock).verify(token)

    assert identity.email_verified is verified


@pytest.mark.parametrize("key", [KEY_A, KEY_EC], ids=["RS256", "ES256"])
async def test_a_supabase_issuer_with_a_secret_still_accepts_its_asymmetric_keys(
    clock: FakeClock, key: SigningKey
) -> None:
    with IssuerServer([KEY_A, KEY_EC]) as server:
        config = supabase_issuer(server.url, "authenticated", SUPABASE_SECRET)
        async with httpx.AsyncClient() as http:
            verifier = JwtVerifier([config], http=http, clock=clock)

            identity = await verifier.verify(sign(supabase_claims(server, clock), key))

        assert identity.name == "Grace Hopper"
        assert server.fetches("/auth/v1/.well-known/jwks.json") == 1


def test_supabase_issuer_addresses() -> None:
    config = supabase_issuer("https://ref.supabase.co/", "authenticated", None)

    assert config.issuer == "https://ref.supabase.co/auth/v1"
    assert config.jwks_url == "https://ref.supabase.co/auth/v1/.well-known/jwks.json"
    assert config.hs256_secret is None
    assert SUPABASE_SECRET not in repr(supabase_issuer("https://x", "a", SUPABASE_SECRET))


async def test_an_hs256_token_is_refused_without_a_secret(clock: FakeClock) -> None:
    with IssuerServer([KEY_A]) as server:
        config = supabase_issuer(server.url, "authenticated", None)
        token = jwt.encode(supabase_claims(server, clock), SUPABASE_SECRET, algorithm="HS256")
        async with httpx.AsyncClient() as http:
            verifier = JwtVerifier([config], http=http, clock=clock)

            assert "algorithm" in await refused(verifier, token)


@pytest.mark.parametrize(
    ("token", "recognised"),
    [
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", True),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", True),
        ("trd_abc.def.ghi", False),
        ("abc.def", False),
        ("a.b.c.d", False),
        ("a b.c.d", False),
        ("", False),
    ],
)
async def test_recognises_only_jwt_shaped_tokens(token: str, recognised: bool) -> None:
    async with httpx.AsyncClient() as http:
        assert JwtVerifier([], http=http).recognises(token) is recognised


async def test_a_malformed_token_is_refused(verifier: JwtVerifier) -> None:
    assert "malformed" in await refused(verifier, "abc.def.ghi")


async def test_an_unreachable_issuer_refuses_tokens(clock: FakeClock) -> None:
    with IssuerServer([KEY_A]) as server:
        issuer = server.issuer
        token = sign(claims(server, clock))
    async with httpx.AsyncClient() as http:
        verifier = JwtVerifier([IssuerConfig(issuer, AUDIENCE)], http=http, clock=clock)

        assert "could not be reached" in await refused(verifier, token)
