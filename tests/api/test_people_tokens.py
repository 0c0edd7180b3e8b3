"""The API with people's JWTs from a local identity provider instead of API tokens.

The isolation and role tests of `test_access` run again here with a person (invited with
that role, signed in by their first request) in place of every token. Then what only
people have: refused JWTs create nothing, a person in two workspaces names one, a removed
member loses access at once, a key rotation at the provider is followed, and a
Supabase-style HS256 token works with the project's secret.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from adapters.clock import FakeClock
from adapters.identity.jwks import DEFAULT_MIN_REFETCH_SECONDS as MIN_REFETCH_SECONDS
from adapters.memory.store import InMemoryStore
from application.use_cases.people import Invite, RemoveMember
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap, memory_storage
from tests.api import test_access
from tests.api.conftest import Api, api_settings, issue_tokens
from tests.api.workflows import ECHO, create
from tests.support.identity_provider import KEY_A, KEY_B, IssuerServer, person_token, sign
from tests.support.people import workspace_id

AUDIENCE = "treadle-api"
SUPABASE_SECRET = "a-supabase-project-jwt-secret-of-32-chars-or-more"


@pytest.fixture
def issuer() -> Iterator[IssuerServer]:
    with IssuerServer([KEY_A]) as server:
        yield server


@pytest.fixture
async def api(issuer: IssuerServer) -> AsyncIterator[Api]:
    """Workspaces a and b with a person per role, each holding a JWT; `tokens` maps
    `<workspace>_<role>` to that JWT, so the token tests read unchanged."""
    provider = {"name": "test", "issuer": issuer.issuer, "client_id": AUDIENCE}
    settings = api_settings(
        max_body_bytes=64 * 1024,
        oidc_providers=[provider],
        supabase_url=issuer.url,
        supabase_jwt_secret=SUPABASE_SECRET,
    )
    # A fake clock that starts at the real time (the JWTs are made from it), so a test can
    # let the verifier's minimum time between key set fetches pass.
    clock = FakeClock(datetime.now(UTC))
    store = InMemoryStore(clock=clock)
    runtime = await bootstrap(settings, clock=clock, storage=memory_storage(store))
    app = create_app(runtime, settings)
    await issue_tokens(runtime.services)  # the workspaces, and tokens nobody here uses
    people: dict[str, str] = {}
    for space in ("a", "b"):
        space_id = await workspace_id(runtime.services, f"workspace-{space}")
        for role in ("admin", "editor", "viewer"):
            email = f"{space}-{role}@example.com"
            await runtime.services.invite()(Invite(space_id, email, role))
            people[f"{space}_{role}"] = person_token(issuer, AUDIENCE, f"{space}-{role}", email)
    async with AsyncTestClient(app=app) as client:
        yield Api(app, runtime, runtime.services, client, people, store)
    await runtime.close()


test_workspace_a_gets_404_for_every_resource_of_workspace_b = (
    test_access.test_workspace_a_gets_404_for_every_resource_of_workspace_b
)
test_a_viewer_gets_403_on_every_write = test_access.test_a_viewer_gets_403_on_every_write
test_an_editor_may_not_touch_secrets_or_tokens = (
    test_access.test_an_editor_may_not_touch_secrets_or_tokens
)


def bearer(token: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    return headers | ({"X-Treadle-Workspace": workspace} if workspace else {})


async def users_known(api: Api) -> int:
    assert api.store is not None
    return len(api.store.users)


def claims(issuer: IssuerServer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": issuer.issuer,
        "sub": "mallory",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "email": "a-admin@example.com",
        "email_verified": True,
    }
    return {name: value for name, value in (base | changes).items() if value is not None}


def unsigned(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, key="", algorithm="none")


async def test_refused_jwts_are_401_and_create_no_one(api: Api, issuer: IssuerServer) -> None:
    now = int(time.time())
    refused = {
        "alg none": unsigned(claims(issuer)),
        "expired": sign(claims(issuer, iat=now - 900, exp=now - 600)),
        "not yet valid": sign(claims(issuer, nbf=now + 600)),
        "another audience": sign(claims(issuer, aud="someone-else")),
        "unknown issuer": sign(claims(issuer, iss="https://evil.example.com")),
        "a key the issuer never published": sign(claims(issuer), KEY_B),
        "HS256 where only RS256 is configured": jwt.encode(
            claims(issuer), "a-guessable-secret-of-32-characters!", algorithm="HS256"
        ),
    }
    for why, token in refused.items():
        response = await api.client.get("/api/v1/workflows", headers=bearer(token))
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
        assert token not in response.text
    assert await users_known(api) == 0


async def test_a_first_request_signs_the_person_in_and_attributes_changes(api: Api) -> None:
    workflow_id = await create(api, ECHO, who="a_editor")
    listed = await api.request("GET", "/api/v1/audit", "a_admin")
    created = [e for e in listed.json()["items"] if e["action"] == "workflow.created"]
    assert created[0]["object_id"] == workflow_id
    assert created[0]["actor"]["kind"] == "user"
    assert created[0]["actor"]["name"] == "A-Editor"
    assert await users_known(api) == 2


async def test_someone_in_two_workspaces_names_one(api: Api, issuer: IssuerServer) -> None:
    b = await workspace_id(api.services, "workspace-b")
    await api.services.invite()(Invite(b, "a-viewer@example.com", "admin"))
    token = api.tokens["a_viewer"]
    await api.client.get("/api/v1/workflows", headers=bearer(token))  # joins b as well

    unnamed = await api.client.get("/api/v1/workflows", headers=bearer(token))
    assert unnamed.status_code == 400
    assert unnamed.json()["error"]["code"] == "workspace_required"
    in_b = await api.client.get("/api/v1/secrets", headers=bearer(token, "workspace-b"))
    assert in_b.status_code == 200, "an admin in b"
    in_a = await api.client.get("/api/v1/secrets", headers=bearer(token, "workspace-a"))
    assert in_a.status_code == 403, "a viewer in a"
    elsewhere = await api.client.get("/api/v1/workflows", headers=bearer(token, "nowhere"))
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "not_a_member"


async def test_a_removed_member_loses_access_at_once(api: Api) -> None:
    token = api.tokens["a_editor"]
    assert (await api.client.get("/api/v1/workflows", headers=bearer(token))).status_code == 200
    a = await workspace_id(api.services, "workspace-a")
    members = await api.services.people_queries().members(a)
    editor = next(m.user.id for m in members if m.user.email == "a-editor@example.com")

    await api.services.change_membership().remove(RemoveMember(a, editor))

    after = await api.client.get("/api/v1/workflows", headers=bearer(token))
    assert after.status_code == 403
    assert after.json()["error"]["code"] == "not_a_member"


async def test_a_rotated_signing_key_is_followed(api: Api, issuer: IssuerServer) -> None:
    assert (await api.request("GET", "/api/v1/workflows", "a_admin")).status_code == 200
    issuer.keys = [KEY_B]
    clock = api.runtime.clock
    assert isinstance(clock, FakeClock)
    clock.advance(MIN_REFETCH_SECONDS)  # a key set just fetched is not fetched again at once
    rotated = person_token(issuer, AUDIENCE, "a-admin", "a-admin@example.com", key=KEY_B)
    response = await api.client.get("/api/v1/workflows", headers=bearer(rotated))
    assert response.status_code == 200, response.text
    retired = person_token(issuer, AUDIENCE, "a-admin", "a-admin@example.com", key=KEY_A)
    assert (await api.client.get("/api/v1/workflows", headers=bearer(retired))).status_code == 401


async def test_a_supabase_hs256_token_signs_in_with_the_project_secret(
    api: Api, issuer: IssuerServer
) -> None:
    a = await workspace_id(api.services, "workspace-a")
    await api.services.invite()(Invite(a, "sam@example.com", "viewer"))
    now = int(time.time())
    sub = "8f9c2a4e-0000-4000-8000-000000000001"
    payload = {
        "iss": f"{issuer.url}/auth/v1",
        "sub": sub,
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 3600,
        "email": "sam@example.com",
        "user_metadata": {"full_name": "Sam Supabase"},
    }
    token = jwt.encode(payload, SUPABASE_SECRET, algorithm="HS256")
    response = await api.client.get("/api/v1/workflows", headers=bearer(token))
    assert response.status_code == 200, response.text
    forged = jwt.encode(payload, "not-the-project-secret-but-as-long-as-it", algorithm="HS256")
    assert (await api.client.get("/api/v1/workflows", headers=bearer(forged))).status_code == 401
    members = await api.services.people_queries().members(a)
    sam = [(m.user.display_name, m.membership.role) for m in members if m.user.subject == sub]
    assert sam == [("Sam Supabase", "viewer")], "a confirmed Supabase email joins its invitation"
