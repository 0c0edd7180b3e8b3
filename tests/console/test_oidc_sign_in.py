"""Signing in to the console through an OpenID Connect provider: a real local provider
(`oidc-provider-mock`) and the console over an in-memory runtime configured with it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import pytest
from litestar.testing import AsyncTestClient

from adapters.memory.store import InMemoryStore
from application.people import hash_session
from application.use_cases.people import Invite
from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.api.app import create_app
from entrypoints.api.services import ApiServices
from entrypoints.console.oidc_pages import SIGN_IN_COOKIE, PendingSignIn
from entrypoints.console.session import COOKIE
from tests.api.conftest import api_settings, memory_runtime

BASE = "http://console.test"
CALLBACK = f"{BASE}/console/auth/test/callback"


@pytest.fixture
def idp() -> Iterator[str]:
    """A local OpenID provider; its issuer (and address)."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@dataclass
class Console:
    client: AsyncTestClient[Any]
    services: ApiServices
    store: InMemoryStore
    idp: str
    workspace_id: str

    async def person(self, subject: str, email: str, name: str) -> None:
        """Tell the provider who `subject` is."""
        claims = {"email": email, "email_verified": True, "name": name}
        async with httpx.AsyncClient() as http:
            answer = await http.put(f"{self.idp}/users/{subject}", json=claims)
        assert answer.status_code == 204, answer.text

    async def start(self, next_url: str = "/console/workflows") -> str:
        """Press "Sign in with Test ID": the provider's address the console sends us to."""
        response = await self.client.get("/console/auth/test/start", params={"next": next_url})
        assert response.status_code == 303, response.text
        location = str(response.headers["location"])
        assert location.startswith(f"{self.idp}/")
        return location

    async def authorize(self, url: str, **form: str) -> str:
        """Submit the provider's form: the callback address it sends the browser back to."""
        async with httpx.AsyncClient() as browser:
            response = await browser.post(url, data=form)
        assert response.status_code in (302, 303), response.text
        location = str(response.headers["location"])
        assert location.startswith(CALLBACK)
        return location

    async def callback(self, location: str) -> Any:
        return await self.client.get(location.removeprefix(BASE))

    async def sign_in(self, subject: str) -> Any:
        """The whole flow as `subject`: the callback's answer."""
        return await self.callback(await self.authorize(await self.start(), sub=subject))


@pytest.fixture
async def console(idp: str) -> AsyncIterator[Console]:
    provider = {
        "name": "test",
        "title": "Test ID",
        "issuer": idp,
        "client_id": "treadle",
        # The local provider takes any secret, but not a public client's PKCE alone.
        "client_secret": "treadle-client-secret",
    }
    settings = api_settings(oidc_providers=[provider])
    runtime, store = await memory_runtime(settings)
    services = runtime.services
    workspace = await services.ensure_workspace()(EnsureWorkspace("main"))
    try:
        async with AsyncTestClient(app=create_app(runtime, settings), base_url=BASE) as client:
            client.follow_redirects = False
            yield Console(client, services, store, idp, workspace.id)
    finally:
        await runtime.close()


async def test_the_sign_in_page_offers_the_provider_and_folds_the_token_form(
    console: Console,
) -> None:
    page = (await console.client.get("/console/sign-in?next=/console/schedules")).text

    assert "Sign in with Test ID" in page
    assert 'href="/console/auth/test/start?next=%2Fconsole%2Fschedules"' in page
    assert "<summary>Use an API token</summary>" in page
    assert 'name="token"' in page


async def test_an_invited_person_lands_in_the_workspace_with_the_invited_role(
    console: Console,
) -> None:
    await console.services.invite()(Invite(console.workspace_id, "Colleague@Example.com", "editor"))
    await console.person("colleague", "colleague@example.com", "Col League")

    response = await console.sign_in("colleague")

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/workflows"
    secret = str(response.cookies[COOKIE])
    [session] = console.store.sessions.values()
    assert session.id_hash == hash_session(secret)
    assert session.workspace_id == console.workspace_id
    [user] = console.store.users.values()
    assert (session.user_id, user.subject, user.issuer) == (user.id, "colleague", console.idp)
    membership = console.store.memberships[(console.workspace_id, user.id)]
    assert membership.role == "editor"
    assert console.store.invitations == {}
    # The cookie is the session id: no JWT (three base64url parts, a JSON header "eyJ").
    assert secret.count(".") < 2 and "eyJ" not in secret
    assert "SameSite=lax" in response.headers["set-cookie"]
    assert SIGN_IN_COOKIE not in console.client.cookies
    page = await console.client.get("/console/workflows")
    assert page.status_code == 200
    assert "data-signed-in-as>Col League<" in page.text and "data-role>editor<" in page.text
    assert 'href="/console/tokens"' not in page.text


async def test_a_person_without_an_invitation_is_told_whom_to_ask(console: Console) -> None:
    await console.person("stranger", "stranger@example.com", "Stan Ger")

    response = await console.sign_in("stranger")

    assert response.status_code == 403
    assert (
        "Signed in as Stan Ger (stranger@example.com) but not a member of any workspace yet: "
        "ask an admin to invite stranger@example.com"
    ) in response.text
    assert COOKIE not in response.cookies
    assert [u.subject for u in console.store.users.values()] == ["stranger"]
    assert console.store.memberships == {}
    assert console.store.sessions == {}
    assert (await console.client.get("/console/workflows")).status_code == 303


async def test_a_callback_with_another_state_begins_no_session(console: Console) -> None:
    await console.services.invite()(Invite(console.workspace_id, "ada@example.com", "admin"))
    await console.person("ada", "ada@example.com", "Ada")
    location = await console.authorize(await console.start(), sub="ada")
    forged = location.replace("state=", "state=x")

    response = await console.callback(forged)

    assert response.status_code == 400
    assert "start again" in response.text
    assert COOKIE not in response.cookies
    assert console.store.sessions == {} and console.store.users == {}


async def test_a_callback_without_the_sign_in_cookie_begins_no_session(console: Console) -> None:
    await console.person("ada", "ada@example.com", "Ada")
    location = await console.authorize(await console.start(), sub="ada")
    console.client.cookies.clear()  # as if another browser followed the link

    response = await console.callback(location)

    assert response.status_code == 400
    assert console.store.sessions == {} and console.store.users == {}


async def test_a_callback_without_a_state_begins_no_session(console: Console) -> None:
    await console.start()

    response = await console.client.get("/console/auth/test/callback?code=abc")

    assert response.status_code == 400
    assert console.store.sessions == {}


async def test_a_denied_sign_in_says_so(console: Console) -> None:
    location = await console.authorize(await console.start(), action="deny")
    assert "error=access_denied" in location

    response = await console.callback(location)

    assert response.status_code == 401
    assert "Test ID did not sign you in" in response.text
    assert console.store.sessions == {} and console.store.users == {}


async def test_a_replayed_callback_is_refused_without_showing_or_logging_the_code(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    await console.services.invite()(Invite(console.workspace_id, "ada@example.com", "admin"))
    await console.person("ada", "ada@example.com", "Ada")
    location = await console.authorize(await console.start(), sub="ada")
    pending = console.client.cookies[SIGN_IN_COOKIE]
    code = parse_qs(urlsplit(location).query)["code"][0]
    assert (await console.callback(location)).status_code == 303
    console.client.cookies.clear()
    console.client.cookies.set(SIGN_IN_COOKIE, pending, domain="console.test", path="/console/auth")

    with caplog.at_level(logging.DEBUG):
        response = await console.callback(location)

    assert response.status_code == 401
    assert "did not complete" in response.text
    # Leave out the test client's own line about the request it was handed.
    logged = [r.getMessage() for r in caplog.records if BASE not in r.getMessage()]
    assert logged and any("refused the code" in line for line in logged)
    assert code not in response.text and not any(code in line for line in logged)
    assert COOKIE not in response.cookies
    assert len(console.store.sessions) == 1  # the first sign-in's


async def test_an_unknown_provider_is_a_sign_in_page_not_an_error(console: Console) -> None:
    for path in ("/console/auth/nobody/start", "/console/auth/nobody/callback?code=x&state=y"):
        response = await console.client.get(path)

        assert response.status_code == 404, path
        assert "no such sign-in provider" in response.text
        assert "Sign in with Test ID" in response.text


async def test_the_console_goes_only_to_its_own_pages_after_signing_in(console: Console) -> None:
    await console.services.invite()(Invite(console.workspace_id, "ada@example.com", "viewer"))
    await console.person("ada", "ada@example.com", "Ada")

    start = await console.start("https://evil.example/console/x")
    response = await console.callback(await console.authorize(start, sub="ada"))

    assert response.status_code == 303
    assert response.headers["location"] == "/console/executions"


@pytest.mark.parametrize("planted", ["https://evil.example/", "//evil.example"])
async def test_a_planted_sign_in_cookie_cannot_send_the_browser_off_site(
    console: Console, planted: str
) -> None:
    await console.services.invite()(Invite(console.workspace_id, "ada@example.com", "viewer"))
    await console.person("ada", "ada@example.com", "Ada")
    location = await console.authorize(await console.start(), sub="ada")
    pending = PendingSignIn.decode(console.client.cookies[SIGN_IN_COOKIE])
    assert pending is not None
    # The cookie is not signed: another page on the site (or a man in the middle of
    # plain http) can rewrite it, keeping the state so that the callback matches.
    console.client.cookies.clear()
    planted_cookie = replace(pending, next=planted).encode()
    console.client.cookies.set(
        SIGN_IN_COOKIE, planted_cookie, domain="console.test", path="/console/auth"
    )

    response = await console.callback(location)

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/executions"


async def test_reaching_the_not_a_member_page_ends_the_browser_s_earlier_session(
    console: Console,
) -> None:
    token = await console.services.create_token()(
        CreateToken(console.workspace_id, "laptop", "admin")
    )
    signed_in = await console.client.post(
        "/console/sign-in", data={"token": token.secret}, headers={"Origin": BASE}
    )
    assert signed_in.status_code == 303, signed_in.text
    earlier = str(signed_in.cookies[COOKIE])
    assert (await console.client.get("/console/executions")).status_code == 200
    await console.person("stranger", "stranger@example.com", "Stan Ger")

    response = await console.sign_in("stranger")

    assert response.status_code == 403
    assert f"{COOKIE}=" in response.headers.get("set-cookie", "")
    assert COOKIE not in console.client.cookies
    assert console.store.sessions == {}
    # Replayed by hand, the earlier cookie opens nothing: its session ended on the server.
    console.client.cookies.set(COOKIE, earlier, domain="console.test", path="/console")
    assert (await console.client.get("/console/executions")).status_code == 303
