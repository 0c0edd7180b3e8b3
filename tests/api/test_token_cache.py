"""Authenticated tokens are trusted for a few seconds without a database read; revocation
through the same process is seen at once, elsewhere within the time to live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.clock import FakeClock
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application.access import Principal, Role
from application.errors import Unauthenticated
from application.use_cases.tokens import (
    AuthenticatedTokens,
    AuthenticateHandler,
    CreateToken,
    CreateTokenHandler,
    RevokeToken,
    RevokeTokenHandler,
    hash_token,
)
from application.use_cases.workspaces import EnsureWorkspace, EnsureWorkspaceHandler
from tests.api.conftest import Api

TTL = 5.0


class CountingUnitsOfWork:
    """A unit of work factory that counts how many units were opened (database visits)."""

    def __init__(self, inner: InMemoryUnitOfWorkFactory) -> None:
        self.inner = inner
        self.opened = 0

    def __call__(self) -> Any:
        self.opened += 1
        return self.inner()


class Tokens:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.units = CountingUnitsOfWork(InMemoryUnitOfWorkFactory(InMemoryStore(self.clock)))
        self.cache = AuthenticatedTokens(self.clock, timedelta(seconds=TTL))
        self.authenticate = AuthenticateHandler(self.units, self.cache)
        self.revoke_here = RevokeTokenHandler(self.units, self.clock, self.cache)
        # Another API process or the CLI: same database, not this cache.
        self.revoke_elsewhere = RevokeTokenHandler(self.units, self.clock)

    async def issue(self) -> tuple[str, RevokeToken]:
        workspace = await EnsureWorkspaceHandler(self.units, self.clock)(EnsureWorkspace("w"))
        created = await CreateTokenHandler(self.units, self.clock)(
            CreateToken(workspace.id, "t", "editor")
        )
        return created.secret, RevokeToken(workspace.id, created.record.id)


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


async def test_a_known_token_is_read_from_the_database_once_within_the_ttl(tokens: Tokens) -> None:
    secret, _ = await tokens.issue()
    opened = tokens.units.opened
    first = await tokens.authenticate(secret)
    second = await tokens.authenticate(secret)
    assert first == second and first.role is Role.EDITOR
    assert tokens.units.opened == opened + 1
    tokens.clock.advance(TTL)
    await tokens.authenticate(secret)
    assert tokens.units.opened == opened + 2


async def test_a_token_revoked_in_this_process_is_refused_at_once(tokens: Tokens) -> None:
    secret, revoke = await tokens.issue()
    await tokens.authenticate(secret)
    await tokens.revoke_here(revoke)
    with pytest.raises(Unauthenticated):
        await tokens.authenticate(secret)


async def test_a_token_revoked_elsewhere_is_refused_once_the_ttl_has_passed(
    tokens: Tokens,
) -> None:
    secret, revoke = await tokens.issue()
    await tokens.authenticate(secret)
    await tokens.revoke_elsewhere(revoke)
    tokens.clock.advance(TTL - 0.001)
    assert (await tokens.authenticate(secret)).token_id == revoke.token_id
    tokens.clock.advance(0.001)
    with pytest.raises(Unauthenticated):
        await tokens.authenticate(secret)


async def test_revoking_again_here_forgets_a_token_revoked_elsewhere(tokens: Tokens) -> None:
    secret, revoke = await tokens.issue()
    await tokens.authenticate(secret)
    await tokens.revoke_elsewhere(revoke)
    await tokens.revoke_here(revoke)
    with pytest.raises(Unauthenticated):
        await tokens.authenticate(secret)


async def test_unknown_tokens_are_not_remembered(tokens: Tokens) -> None:
    opened = tokens.units.opened
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await tokens.authenticate("trd_not-a-real-token")
    assert tokens.units.opened == opened + 2


def test_a_look_up_that_began_before_a_revocation_is_not_kept() -> None:
    cache = AuthenticatedTokens(FakeClock())
    principal = Principal("ws", Role.ADMIN, "tok_1")
    began = cache.generation
    cache.forget(hash_token("trd_other"))  # a revocation lands while the look-up runs
    cache.put(hash_token("trd_x"), principal, began)
    assert cache.get(hash_token("trd_x")) is None
    cache.put(hash_token("trd_x"), principal, cache.generation)
    assert cache.get(hash_token("trd_x")) == principal


def test_the_cache_holds_at_most_its_capacity_dropping_the_oldest() -> None:
    cache = AuthenticatedTokens(FakeClock(), capacity=2)
    for name in ("a", "b", "c"):
        cache.put(name, Principal("ws", Role.VIEWER, name), cache.generation)
    assert [cache.get(name) is not None for name in ("a", "b", "c")] == [False, True, True]


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = AuthenticatedTokens(FakeClock(), timedelta(0))
    cache.put("a", Principal("ws", Role.VIEWER, "a"), cache.generation)
    assert cache.get("a") is None


async def test_the_api_revokes_a_cached_token_at_once(api: Api) -> None:
    created = await api.request("POST", "/api/v1/tokens", json={"name": "ci", "role": "viewer"})
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    for _ in range(2):  # the second request is answered from the cache
        assert (await api.client.get("/api/v1/workspace", headers=headers)).status_code == 200
    assert api.services.token_cache().get(hash_token(created.json()["token"])) is not None
    deleted = await api.request("DELETE", f"/api/v1/tokens/{created.json()['id']}")
    assert deleted.status_code == 204
    assert (await api.client.get("/api/v1/workspace", headers=headers)).status_code == 401
