"""Console sessions: begun at sign-in, checked on every console request, ended at sign-out.

The cookie holds a random session id; the database holds its hash, the workspace, and
who signed in (a person, or an API token pasted on the sign-in page). Every request reads
the session and the person's membership afresh, so a removed member or a revoked token
loses the console at once, in every process.
"""

from __future__ import annotations

from datetime import timedelta

from application.access import Principal, Role
from application.errors import Unauthenticated
from application.people import (
    ConsoleSession,
    NotAMember,
    User,
    hash_session,
    new_session_secret,
)
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.use_cases.people import principal_of

SWEEP_AT_SIGN_IN = 100


class SessionEnded(Unauthenticated):
    """Your console session has ended: sign in again."""


class ConsoleSessions:
    """Begin, check and end console sessions that last `lifetime`."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, lifetime: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._lifetime = lifetime

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    async def begin_for_user(self, user: User, workspace_id: str) -> str:
        """A new session of `user` in a workspace they are a member of: the cookie value."""
        async with self._uow() as uow:
            if await uow.people.membership(workspace_id, user.id) is None:
                raise NotAMember()
            secret = await self._add(uow, workspace_id, user_id=user.id)
            await uow.commit()
        return secret

    async def begin_for_token(self, principal: Principal) -> str:
        """A new session standing for an authenticated API token (single-user setups)."""
        async with self._uow() as uow:
            secret = await self._add(uow, principal.workspace_id, token_id=principal.token_id)
            await uow.commit()
        return secret

    async def principal(self, secret: str) -> Principal:
        """Who the session with this cookie value acts as, now."""
        async with self._uow() as uow:
            session = await uow.sessions.get(hash_session(secret))
            if session is None or session.expires_at <= self._clock.now():
                raise SessionEnded()
            return await _principal_of(uow, session)

    async def end(self, secret: str) -> None:
        async with self._uow() as uow:
            await uow.sessions.remove(hash_session(secret))
            await uow.commit()

    async def remove_expired(self, limit: int = 1000) -> int:
        async with self._uow() as uow:
            removed = await uow.sessions.remove_expired(self._clock.now(), limit)
            await uow.commit()
        return removed

    async def _add(
        self,
        uow: UnitOfWork,
        workspace_id: str,
        *,
        user_id: str | None = None,
        token_id: str | None = None,
    ) -> str:
        secret = new_session_secret()
        now = self._clock.now()
        # Each sign-in sweeps a few expired sessions away, so the table stays the size of
        # the sessions in use without a job of its own.
        await uow.sessions.remove_expired(now, SWEEP_AT_SIGN_IN)
        session = ConsoleSession(
            hash_session(secret), workspace_id, now, now + self._lifetime, user_id, token_id
        )
        await uow.sessions.add(session)
        return secret


async def _principal_of(uow: UnitOfWork, session: ConsoleSession) -> Principal:
    if session.user_id is not None:
        user = await uow.people.get_user(session.user_id)
        membership = await uow.people.membership(session.workspace_id, session.user_id)
        if user is None or membership is None:
            raise SessionEnded("you are no longer a member of this workspace: sign in again")
        return principal_of(user, membership)
    token = await uow.tokens.get(session.workspace_id, session.token_id or "")
    if token is None or token.revoked_at is not None:
        raise SessionEnded("your token was revoked or is unknown: sign in again")
    return Principal(token.workspace_id, Role(token.role), token.id, token.name)
