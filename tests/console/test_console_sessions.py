"""Console sessions: the cookie names a server-side session (never a token), signing out
ends it, it expires, it ends with its token; a person in several workspaces moves between
them, and sees only the pages their role allows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from adapters.clock import FakeClock
from adapters.memory.store import InMemoryStore
from application.people import User, hash_session
from application.use_cases.people import Invite
from application.use_cases.tokens import CreateToken, RevokeToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.api.app import create_app
from entrypoints.api.services import ApiServices
from entrypoints.bootstrap import bootstrap, memory_storage
from entrypoints.console.session import COOKIE
from tests.api.conftest import api_settings
from tests.support.people import identity, workspace_id

BASE = "http://console.test"
SAME_ORIGIN = {"Origin": BASE}
SESSION_HOURS = 2
ADMIN_LINKS = ('href="/console/secrets"', 'href="/console/tokens"', 'href="/console/audit"')


@dataclass
class Console:
    client: AsyncTestClient[Any]
    services: ApiServices
    store: InMemoryStore
    clock: FakeClock
    workspace_id: str

    async def sign_in_with_token(self, token: str) -> str:
        """Sign in by pasting `token`: the session cookie's value."""
        self.client.cookies.clear()
        response = await self.client.post(
            "/console/sign-in", data={"token": token}, headers=SAME_ORIGIN
        )
        assert response.status_code == 303, response.text
        return str(response.cookies[COOKIE])

    async def token(self, role: str, name: str | None = None) -> tuple[str, str]:
        """A new token of the workspace: its secret and id."""
        created = await self.services.create_token()(
            CreateToken(self.workspace_id, name or role, role)
        )
        return created.secret, created.record.id

    async def person(self, email: str, memberships: dict[str, str]) -> User:
        """A person invited to each workspace (name → role), then signed in."""
        for name, role in memberships.items():
            await self.services.invite()(
                Invite(await workspace_id(self.services, name), email, role)
            )
        user: User = await self.services.sign_in()(identity(email))
        return user

    def use_session(self, secret: str) -> None:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE, secret, domain="console.test", path="/console")


@pytest.fixture
async def console() -> AsyncIterator[Console]:
    settings = api_settings(session_hours=SESSION_HOURS)
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    runtime = await bootstrap(settings, clock=clock, storage=memory_storage(store))
    app = create_app(runtime, settings)
    services = runtime.services
    workspace = await services.ensure_workspace()(EnsureWorkspace("main"))
    try:
        async with AsyncTestClient(app=app, base_url=BASE) as client:
            client.follow_redirects = False
            yield Console(client, services, store, clock, workspace.id)
    finally:
        await runtime.close()


async def status_of(console: Console, path: str = "/console/workflows") -> int:
    return (await console.client.get(path)).status_code


async def test_the_cookie_names_a_session_whose_hash_alone_is_stored(console: Console) -> None:
    token, token_id = await console.token("admin")
    response = await console.client.post(
        "/console/sign-in", data={"token": token}, headers=SAME_ORIGIN
    )

    secret = str(response.cookies[COOKIE])
    header = response.headers["set-cookie"]
    assert secret and secret != token and token not in header
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/console" in header
    assert f"Max-Age={SESSION_HOURS * 3600}" in header
    assert "Secure" not in header  # plain http here; https adds it
    [stored] = console.store.sessions.values()
    assert stored.id_hash == hash_session(secret) != secret
    assert (stored.token_id, stored.user_id, stored.workspace_id) == (
        token_id,
        None,
        console.workspace_id,
    )
    assert secret not in repr(console.store.sessions)
    assert await status_of(console) == 200


async def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    token, _ = await console.token("editor")
    secret = await console.sign_in_with_token(token)

    response = await console.client.post("/console/sign-out", headers=SAME_ORIGIN)

    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    assert console.store.sessions == {}
    console.use_session(secret)  # a copy of the old cookie no longer works
    response = await console.client.get("/console/workflows")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=")


async def test_a_session_expires_after_its_lifetime(console: Console) -> None:
    token, _ = await console.token("viewer")
    await console.sign_in_with_token(token)
    console.clock.advance(SESSION_HOURS * 3600 - 1)
    assert await status_of(console) == 200

    console.clock.advance(1)

    response = await console.client.get("/console/workflows")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in")


async def test_revoking_the_token_ends_its_session(console: Console) -> None:
    token, token_id = await console.token("admin", "laptop")
    await console.sign_in_with_token(token)
    assert await status_of(console) == 200

    await console.services.revoke_token()(RevokeToken(console.workspace_id, token_id))

    assert await status_of(console) == 303


async def test_a_new_sign_in_ends_the_session_it_replaces(console: Console) -> None:
    first, _ = await console.token("admin", "first")
    second, _ = await console.token("viewer", "second")
    await console.sign_in_with_token(first)
    await console.client.post("/console/sign-in", data={"token": second}, headers=SAME_ORIGIN)

    [stored] = console.store.sessions.values()
    assert stored.token_id is not None
    page = await console.client.get("/console/workflows")
    assert "data-signed-in-as>second<" in page.text


async def test_a_pasted_unknown_token_begins_no_session(console: Console) -> None:
    response = await console.client.post(
        "/console/sign-in", data={"token": "trd_not-a-token"}, headers=SAME_ORIGIN
    )

    assert response.status_code == 401
    assert "not valid" in response.text and "trd_not-a-token" not in response.text
    assert console.store.sessions == {}
    assert COOKIE not in response.cookies


def header_of(page: str) -> str:
    found = re.search(r"<header .*?</header>", page, re.S)
    assert found is not None
    return found.group(0)


async def test_the_header_names_who_is_signed_in_and_their_role(console: Console) -> None:
    token, _ = await console.token("editor", "ci-bot")
    await console.sign_in_with_token(token)

    header = header_of((await console.client.get("/console/workflows")).text)

    assert "data-signed-in-as>ci-bot<" in header
    assert "data-role>editor<" in header
    assert "data-workspace-switcher" not in header  # a token has one workspace


async def test_a_person_moves_between_their_workspaces(console: Console) -> None:
    ada = await console.person("ada@example.com", {"main": "admin", "research": "viewer"})
    secret = await console.services.console_sessions().begin_for_user(ada, console.workspace_id)
    console.use_session(secret)
    research = next(w for w in console.store.workspaces.values() if w.name == "research")

    header = header_of((await console.client.get("/console/executions")).text)
    assert "data-signed-in-as>Ada<" in header and "data-role>admin<" in header
    assert f'<option value="{research.id}">research (viewer)</option>' in header

    response = await console.client.post(
        "/console/workspace", data={"workspace": research.id}, headers=SAME_ORIGIN
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/console/executions"
    new_secret = str(response.cookies[COOKIE])
    [stored] = console.store.sessions.values()  # the old session ended
    assert stored.id_hash == hash_session(new_secret)
    assert stored.workspace_id == research.id
    header = header_of((await console.client.get("/console/executions")).text)
    assert "data-role>viewer<" in header
    assert f'<option value="{research.id}" selected>research</option>' in header


async def test_no_one_moves_to_a_workspace_they_are_not_a_member_of(console: Console) -> None:
    other = await console.services.ensure_workspace()(EnsureWorkspace("elsewhere"))
    ada = await console.person("ada@example.com", {"main": "editor", "research": "viewer"})
    secret = await console.services.console_sessions().begin_for_user(ada, console.workspace_id)
    console.use_session(secret)

    response = await console.client.post(
        "/console/workspace", data={"workspace": other.id}, headers=SAME_ORIGIN
    )

    assert response.status_code == 403
    [stored] = console.store.sessions.values()
    assert stored.workspace_id == console.workspace_id
    assert await status_of(console) == 200


async def test_a_token_cannot_move_workspaces(console: Console) -> None:
    token, _ = await console.token("admin")
    await console.sign_in_with_token(token)
    other = await console.services.ensure_workspace()(EnsureWorkspace("elsewhere"))

    response = await console.client.post(
        "/console/workspace", data={"workspace": other.id}, headers=SAME_ORIGIN
    )

    assert response.status_code == 403


async def test_moving_workspaces_needs_a_console_page_as_origin(console: Console) -> None:
    ada = await console.person("ada@example.com", {"main": "admin", "research": "viewer"})
    secret = await console.services.console_sessions().begin_for_user(ada, console.workspace_id)
    console.use_session(secret)
    research = next(w for w in console.store.workspaces.values() if w.name == "research")

    response = await console.client.post(
        "/console/workspace", data={"workspace": research.id}, headers={"Origin": "http://x.test"}
    )

    assert response.status_code == 403
    [stored] = console.store.sessions.values()
    assert stored.workspace_id == console.workspace_id


@pytest.mark.parametrize(
    ("role", "admin_links", "editor_buttons"),
    [("viewer", False, False), ("editor", False, True), ("admin", True, True)],
)
async def test_a_person_sees_the_links_and_buttons_their_role_allows(
    console: Console, role: str, admin_links: bool, editor_buttons: bool
) -> None:
    person = await console.person(f"{role}@example.com", {"main": role})
    secret = await console.services.console_sessions().begin_for_user(person, console.workspace_id)
    console.use_session(secret)

    page = (await console.client.get("/console/workflows")).text
    nav = header_of(page)

    assert all((link in nav) is admin_links for link in ADMIN_LINKS)
    assert 'href="/console/retention"' in nav  # everyone reads the retention policy
    assert ('href="/console/workflows/new"' in page) is editor_buttons
    assert await status_of(console, "/console/tokens") == (200 if admin_links else 403)
    assert await status_of(console, "/console/secrets") == (200 if admin_links else 403)
