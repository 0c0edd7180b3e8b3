"""The OpenID Connect client: the authorization address it builds, the code exchange,
and a whole sign-in against a local OpenID provider."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import pytest
from pydantic import SecretStr

from adapters.identity.discovery import IdentityProviderError
from adapters.identity.issuers import IssuerConfig, supabase_issuer
from adapters.identity.jwt_verifier import JwtVerifier
from adapters.identity.oidc_client import OidcProvider, exchange_code, start_sign_in
from application.errors import Unauthenticated
from entrypoints.identity import identity_verifier, oidc_providers
from entrypoints.settings import OidcProviderSetting, Settings
from tests.support.fake_servers import Answer, BackgroundServer, RecordedRequest, json_answer

CLIENT_ID = "treadle-console"
REDIRECT_URI = "http://127.0.0.1:8000/console/sign-in/mock/callback"


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_start_sign_in_builds_the_authorization_address_with_pkce() -> None:
    start = start_sign_in(
        "https://idp.example/authorize?prompt=login", CLIENT_ID, REDIRECT_URI, "openid email"
    )

    query = query_of(start.url)
    digest = hashlib.sha256(start.code_verifier.encode()).digest()
    assert start.url.startswith("https://idp.example/authorize?")
    assert query == {
        "prompt": "login",
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": start.state,
        "nonce": start.nonce,
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    assert "=" not in query["code_challenge"]
    assert 43 <= len(start.code_verifier) <= 128
    assert start.code_verifier not in repr(start)


def test_each_sign_in_has_its_own_secrets() -> None:
    document = {"authorization_endpoint": "https://idp.example/authorize"}
    first, second = (start_sign_in(document, CLIENT_ID, REDIRECT_URI) for _ in range(2))

    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_verifier != second.code_verifier


class TokenEndpoint(BackgroundServer):
    """A token endpoint that answers whatever it is told to."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__()
        self.status = status
        self.body = body

    def answer(self, request: RecordedRequest) -> Answer:
        return json_answer(self.status, self.body)


async def exchange(endpoint: TokenEndpoint, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "token_endpoint": f"{endpoint.url}/token",
        "code": "the-secret-code",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": "the-client-secret",
        "code_verifier": "v" * 43,
    } | overrides
    async with httpx.AsyncClient() as http:
        return await exchange_code(http, **arguments)


async def test_the_exchange_sends_the_code_verifier_and_basic_credentials() -> None:
    with TokenEndpoint(200, {"id_token": "a.b.c", "access_token": "x"}) as endpoint:
        answer = await exchange(endpoint)

    request = endpoint.requests[0]
    form = parse_qs(request.body.decode())
    expected = base64.b64encode(f"{CLIENT_ID}:the-client-secret".encode()).decode()
    assert answer["id_token"] == "a.b.c"
    assert request.headers["authorization"] == f"Basic {expected}"
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["the-secret-code"],
        "redirect_uri": [REDIRECT_URI],
        "code_verifier": ["v" * 43],
    }


async def test_a_public_client_sends_only_its_id() -> None:
    with TokenEndpoint(200, {"id_token": "a.b.c"}) as endpoint:
        await exchange(endpoint, client_secret=None)

    request = endpoint.requests[0]
    assert "authorization" not in request.headers
    assert parse_qs(request.body.decode())["client_id"] == [CLIENT_ID]


async def test_a_refused_code_names_the_providers_error_but_not_the_code() -> None:
    body = {"error": "invalid_grant", "error_description": "code expired"}
    with TokenEndpoint(400, body) as endpoint, pytest.raises(IdentityProviderError) as caught:
        await exchange(endpoint)

    message = str(caught.value)
    assert "invalid_grant" in message and "code expired" in message
    assert "the-secret-code" not in message and "the-client-secret" not in message


async def test_an_answer_without_id_token_is_an_error() -> None:
    with (
        TokenEndpoint(200, {"access_token": "x"}) as endpoint,
        pytest.raises(IdentityProviderError, match="no id_token"),
    ):
        await exchange(endpoint)


@pytest.fixture
def idp() -> Iterator[str]:
    """A local OpenID provider; its issuer (and address)."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
async def provider(idp: str) -> AsyncIterator[OidcProvider]:
    async with httpx.AsyncClient() as http:
        await http.put(
            f"{idp}/users/alice",
            json={"email": "Alice@Example.com", "email_verified": True, "name": "Alice"},
        )
        verifier = JwtVerifier([IssuerConfig(idp, "treadle-api")], http=http)
        yield OidcProvider(
            name="mock",
            title="Mock",
            issuer=idp,
            client_id=CLIENT_ID,
            client_secret="client-secret",
            verifier=verifier,
        )


async def authorize(start_url: str, subject: str) -> dict[str, str]:
    """Sign in at the provider as `subject`: the callback's query parameters."""
    async with httpx.AsyncClient() as browser:
        response = await browser.post(start_url, data={"sub": subject})
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return query_of(location)


async def test_a_whole_sign_in_names_the_person(provider: OidcProvider, idp: str) -> None:
    start = await provider.start(REDIRECT_URI)
    callback = await authorize(start.url, "alice")

    assert callback["state"] == start.state
    identity = await provider.finish(
        callback["code"], REDIRECT_URI, start.code_verifier, start.nonce
    )

    assert (identity.issuer, identity.subject) == (idp, "alice")
    assert (identity.email, identity.email_verified, identity.name) == (
        "alice@example.com",
        True,
        "Alice",
    )


async def test_an_id_token_for_another_sign_in_is_refused(provider: OidcProvider) -> None:
    start = await provider.start(REDIRECT_URI)
    callback = await authorize(start.url, "alice")

    with pytest.raises(Unauthenticated, match="nonce"):
        await provider.finish(callback["code"], REDIRECT_URI, start.code_verifier, "other-nonce")


async def test_a_code_can_be_used_once(provider: OidcProvider) -> None:
    start = await provider.start(REDIRECT_URI)
    code = (await authorize(start.url, "alice"))["code"]
    await provider.finish(code, REDIRECT_URI, start.code_verifier, start.nonce)

    with pytest.raises(IdentityProviderError, match="invalid_grant") as caught:
        await provider.finish(code, REDIRECT_URI, start.code_verifier, start.nonce)
    assert code not in str(caught.value)


async def test_the_settings_compose_a_verifier_and_providers() -> None:
    settings = Settings(
        oidc_providers=[
            OidcProviderSetting(
                name="corp",
                issuer="https://idp.example",
                client_id="c1",
                client_secret=SecretStr("s1"),
            )
        ],
        supabase_url="https://ref.supabase.co/",
        supabase_jwt_secret=SecretStr("x" * 40),
    )
    async with httpx.AsyncClient() as http:
        verifier = identity_verifier(settings, http=http)
        assert verifier is not None
        providers = oidc_providers(settings, verifier)

    assert dict(verifier.issuers) == {
        "https://idp.example": IssuerConfig("https://idp.example", "c1"),
        "https://ref.supabase.co/auth/v1": supabase_issuer(
            "https://ref.supabase.co", "authenticated", "x" * 40
        ),
    }
    assert list(providers) == ["corp"]
    assert (providers["corp"].label, providers["corp"].client_id) == ("corp", "c1")
    assert "s1" not in repr(providers["corp"])


def test_no_verifier_without_an_identity_provider() -> None:
    settings = Settings(oidc_providers=[], supabase_url=None)

    assert identity_verifier(settings) is None


def test_a_supabase_project_that_is_also_a_sign_in_provider_is_one_issuer() -> None:
    project = "https://ref.supabase.co"
    settings = Settings(
        oidc_providers=[
            OidcProviderSetting(name="supabase", issuer=f"{project}/auth/v1", client_id="c1")
        ],
        supabase_url=project,
        supabase_jwt_secret=SecretStr("x" * 40),
    )

    verifier = identity_verifier(settings)
    assert verifier is not None
    assert dict(verifier.issuers) == {
        f"{project}/auth/v1": supabase_issuer(project, "authenticated", "x" * 40)
    }
    assert list(oidc_providers(settings, verifier)) == ["supabase"]
