"""Discovery documents against a local issuer that can go down: a failed fetch is
remembered for a while, so an outage costs one request per half minute, not one per
token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from adapters.clock import FakeClock
from adapters.identity.discovery import (
    DEFAULT_RETRY_AFTER_SECONDS,
    DISCOVERY_PATH,
    DiscoveryCache,
    IdentityProviderError,
)
from adapters.identity.issuers import IssuerConfig
from adapters.identity.jwt_verifier import JwtVerifier
from application.errors import Unauthenticated
from tests.support.fake_servers import Answer, RecordedRequest, json_answer
from tests.support.identity_provider import KEY_A, IssuerServer, sign

AUDIENCE = "treadle-api"


class FlakyIssuer(IssuerServer):
    """An issuer whose discovery document answers 503 while `down`."""

    down = False

    def answer(self, request: RecordedRequest) -> Answer:
        if self.down and request.path == DISCOVERY_PATH:
            return json_answer(503, {"error": "unavailable"})
        return super().answer(request)

    @property
    def discovery_fetches(self) -> int:
        return self.fetches(DISCOVERY_PATH)


@pytest.fixture
def server() -> Iterator[FlakyIssuer]:
    with FlakyIssuer([KEY_A]) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def token(server: FlakyIssuer, clock: FakeClock) -> str:
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": server.issuer,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }
    return sign(claims)


async def test_tokens_of_a_down_issuer_are_refused_at_once_until_it_is_worth_asking_again(
    server: FlakyIssuer, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    server.down = True
    verifier = JwtVerifier([IssuerConfig(server.issuer, AUDIENCE)], http=http, clock=clock)
    signed = token(server, clock)

    for _ in range(2):
        with pytest.raises(Unauthenticated, match="could not be reached"):
            await verifier.verify(signed)
    assert server.discovery_fetches == 1

    clock.advance(DEFAULT_RETRY_AFTER_SECONDS)
    with pytest.raises(Unauthenticated, match="could not be reached"):
        await verifier.verify(signed)
    assert server.discovery_fetches == 2

    server.down = False
    clock.advance(DEFAULT_RETRY_AFTER_SECONDS)
    identity = await verifier.verify(signed)
    assert identity.subject == "user-1"
    assert server.discovery_fetches == 3


async def test_the_fast_failure_says_what_the_fetch_said(
    server: FlakyIssuer, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    server.down = True
    cache = DiscoveryCache(http, clock=clock)

    with pytest.raises(IdentityProviderError) as fetched:
        await cache.get(server.issuer)
    with pytest.raises(IdentityProviderError) as remembered:
        await cache.get(server.issuer)

    assert str(remembered.value) == str(fetched.value)
    assert "HTTP 503" in str(remembered.value)
    assert server.discovery_fetches == 1


async def test_an_outage_serves_the_document_we_had(
    server: FlakyIssuer, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    cache = DiscoveryCache(http, max_age_seconds=60, clock=clock)
    document = await cache.get(server.issuer)
    server.down = True
    clock.advance(61)

    assert await cache.get(server.issuer) == document
    assert await cache.get(server.issuer) == document
    assert server.discovery_fetches == 2  # the first, and one failed refresh

    clock.advance(DEFAULT_RETRY_AFTER_SECONDS)
    assert await cache.get(server.issuer) == document
    assert server.discovery_fetches == 3
