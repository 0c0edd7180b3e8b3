"""API tokens: create (the secret is shown once), revoke, and authenticate a bearer token
(a Treadle API token, or a JWT an identity provider signed for a person).

Only a SHA-256 hash of a token is stored: tokens are long random strings, so a plain
hash is enough to make a leaked table useless (no salt or slow hash is needed).

Authenticated tokens are remembered for a few seconds (`AuthenticatedTokens`), so a busy
client does not cost a database round trip per request. A revocation made through the
same cache is seen at once; one made elsewhere (another API process, the CLI) within the
cache's time to live.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from application.access import Principal, Role
from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import NotFound, Unauthenticated
from application.ids import new_id, secret_digest
from application.input_errors import InvalidInput
from application.people import NotAMember
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import ApiToken

TOKEN_PREFIX = "trd_"


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return secret_digest(token)


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise InvalidInput("role", f"role must be one of {roles}, not {value!r}") from None


@dataclass(frozen=True)
class CreateToken:
    workspace_id: str
    name: str
    role: str
    actor: Actor = SYSTEM
    created_by: str | None = None
    """The user who asked for the token, when a person did (None for the CLI or a token)."""


@dataclass(frozen=True)
class CreatedToken:
    record: ApiToken
    secret: str
    """The bearer token itself: returned this once, never stored."""


class CreateTokenHandler:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        make_secret: Callable[[], str] = new_token_secret,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._make_secret = make_secret

    async def __call__(self, command: CreateToken) -> CreatedToken:
        role = parse_role(command.role)
        secret = self._make_secret()
        record = ApiToken(
            id=new_id("tok"),
            workspace_id=command.workspace_id,
            name=command.name,
            role=role.value,
            token_hash=hash_token(secret),
            created_at=self._clock.now(),
            created_by=command.created_by,
        )
        async with self._uow() as uow:
            if await uow.workspaces.get(command.workspace_id) is None:
                raise NotFound(f"no workspace {command.workspace_id}")
            await uow.tokens.add(record)
            # The new token's id, name and role: never its value (nor its hash).
            await record_change(
                uow,
                command.workspace_id,
                record.created_at,
                command.actor,
                AuditAction.TOKEN_CREATED,
                record.id,
                {"name": record.name, "role": record.role},
            )
            await uow.commit()
        return CreatedToken(record, secret)


@dataclass(frozen=True)
class RevokeToken:
    workspace_id: str
    token_id: str
    actor: Actor = SYSTEM


class AuthenticatedTokens:
    """Principals of recently authenticated tokens, keyed by token hash, for `ttl`.

    Only successful look-ups are kept (an unknown token is asked of the database each
    time), and at most `capacity` of them, the oldest dropped first. `generation` counts
    revocations: a look-up that began before one is not kept, since it may have read the
    token just before it was revoked.
    """

    def __init__(
        self, clock: Clock, ttl: timedelta = timedelta(seconds=5), capacity: int = 10_000
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._capacity = capacity
        self._entries: dict[str, tuple[Principal, datetime]] = {}
        self.generation = 0

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        principal, expires_at = entry
        if self._clock.now() >= expires_at:
            del self._entries[token_hash]
            return None
        return principal

    def put(self, token_hash: str, principal: Principal, generation: int) -> None:
        if self._ttl <= timedelta(0) or generation != self.generation:
            return
        self._entries.pop(token_hash, None)
        while len(self._entries) >= self._capacity:
            del self._entries[next(iter(self._entries))]
        self._entries[token_hash] = (principal, self._clock.now() + self._ttl)

    def forget(self, token_hash: str) -> None:
        self.generation += 1
        self._entries.pop(token_hash, None)

    def forget_user(self, user_id: str) -> None:
        """Drop every entry of a person whose memberships changed."""
        self.generation += 1
        for key in [k for k, (p, _) in self._entries.items() if p.user_id == user_id]:
            del self._entries[key]


class RevokeTokenHandler:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, cache: AuthenticatedTokens | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache

    async def __call__(self, command: RevokeToken) -> ApiToken:
        async with self._uow() as uow:
            found = await uow.tokens.get(command.workspace_id, command.token_id)
            if found is None:
                raise NotFound(f"no token {command.token_id} in this workspace")
            revoked = found
            if found.revoked_at is None:
                now = self._clock.now()
                revoked = replace(found, revoked_at=now)
                await uow.tokens.save(revoked)
                await record_change(
                    uow,
                    command.workspace_id,
                    now,
                    command.actor,
                    AuditAction.TOKEN_REVOKED,
                    found.id,
                    {"name": found.name},
                )
                await uow.commit()
        if self._cache is not None:
            # Also when it was revoked already: perhaps elsewhere, after this process cached it.
            self._cache.forget(revoked.token_hash)
        return revoked


class AuthenticateHandler:
    """Turns a presented bearer token into the principal it stands for: a Treadle API
    token, or a JWT from a configured identity provider (then the person's role in the
    workspace they name, or in their only one)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        cache: AuthenticatedTokens | None = None,
        people: PeopleSignIn | None = None,
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._people = people

    async def __call__(self, token: str, workspace: str | None = None) -> Principal:
        if token.startswith(TOKEN_PREFIX):
            token_hash = hash_token(token)
            principal = await self._cached(token_hash, lambda: self._api_token(token_hash))
            if workspace and workspace != principal.workspace_id:
                await self._check_named(principal, workspace)
            return principal
        people = self._people
        if people is not None and people.recognises(token):
            key = hash_token(token) + "\n" + (workspace or "")
            return await self._cached(key, lambda: people.principal(token, workspace))
        if people is not None:
            raise Unauthenticated("the bearer token is neither a Treadle token nor a JWT")
        raise Unauthenticated("the bearer token is not a Treadle token")

    async def _check_named(self, principal: Principal, workspace: str) -> None:
        """A token acts in its own workspace only: naming another one (by name or id) is
        refused rather than quietly ignored."""
        async with self._uow() as uow:
            own = await uow.workspaces.get(principal.workspace_id)
        if own is None or own.name != workspace:
            raise NotAMember(
                f"this token belongs to another workspace than {workspace!r}, which"
                " X-Treadle-Workspace names",
            )

    async def _cached(self, key: str, look_up: Callable[[], Awaitable[Principal]]) -> Principal:
        cache = self._cache
        if cache is not None and (known := cache.get(key)) is not None:
            return known
        generation = cache.generation if cache is not None else 0
        principal = await look_up()
        if cache is not None:
            cache.put(key, principal, generation)
        return principal

    async def _api_token(self, token_hash: str) -> Principal:
        async with self._uow() as uow:
            found = await uow.tokens.find_by_hash(token_hash)
        if found is None or found.revoked_at is not None:
            raise Unauthenticated("the bearer token is unknown or revoked")
        return Principal(found.workspace_id, Role(found.role), found.id, found.name)


class PeopleSignIn(Protocol):
    """How a person's JWT becomes a principal (`application.use_cases.people`)."""

    def recognises(self, token: str) -> bool: ...

    async def principal(self, token: str, workspace: str | None) -> Principal: ...
