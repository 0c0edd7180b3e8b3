"""Users, memberships, invitations and console sessions in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping

from adapters.postgres import catalog_mappers
from adapters.postgres.database import Db
from adapters.postgres.mappers import as_utc
from adapters.postgres.tables import (
    console_sessions,
    invitations,
    memberships,
    users,
    workspaces,
)
from application.errors import Conflict
from application.people import ConsoleSession, Invitation, Member, Membership, User
from application.records import Workspace


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        issuer=row["issuer"],
        subject=row["subject"],
        email=row["email"],
        display_name=row["display_name"],
        created_at=as_utc(row["created_at"]),
        last_seen_at=as_utc(row["last_seen_at"]),
    )


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "issuer": user.issuer,
        "subject": user.subject,
        "email": user.email,
        "display_name": user.display_name,
        "created_at": user.created_at,
        "last_seen_at": user.last_seen_at,
    }


def _membership(row: RowMapping) -> Membership:
    return Membership(
        workspace_id=row["workspace_id"],
        user_id=row["user_id"],
        role=row["role"],
        created_at=as_utc(row["created_at"]),
        added_by=row["added_by"],
    )


def _invitation(row: RowMapping) -> Invitation:
    return Invitation(
        id=row["id"],
        workspace_id=row["workspace_id"],
        email=row["email"],
        role=row["role"],
        invited_by=row["invited_by"],
        created_at=as_utc(row["created_at"]),
    )


class PostgresPeople:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add_user(self, user: User) -> None:
        statement = insert(users).values(_user_row(user)).on_conflict_do_nothing()
        if await self._db.count(statement.returning(users.c.id)) != 1:
            raise Conflict("this person is already known")

    async def save_user(self, user: User) -> None:
        row = _user_row(user)
        statement = insert(users).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in row if k != "id"}
        )
        await self._db.execute(statement)

    async def get_user(self, user_id: str) -> User | None:
        row = await self._db.first(select(users).where(users.c.id == user_id))
        return _user(row) if row else None

    async def find_user(self, issuer: str, subject: str) -> User | None:
        statement = select(users).where(users.c.issuer == issuer, users.c.subject == subject)
        row = await self._db.first(statement)
        return _user(row) if row else None

    async def memberships_of(self, user_id: str) -> list[Membership]:
        statement = (
            select(memberships)
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.created_at, memberships.c.workspace_id)
        )
        return [_membership(row) for row in await self._db.rows(statement)]

    async def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        statement = select(memberships).where(
            memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
        )
        row = await self._db.first(statement)
        return _membership(row) if row else None

    async def workspaces_of(self, user_id: str) -> list[tuple[Workspace, str]]:
        statement = (
            select(workspaces, memberships.c.role)
            .join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.created_at, memberships.c.workspace_id)
        )
        return [
            (catalog_mappers.row_to_workspace(row), row["role"])
            for row in await self._db.rows(statement)
        ]

    async def members(self, workspace_id: str, *, lock: bool = False) -> list[Member]:
        statement = (
            select(memberships, *[c.label(f"u_{c.name}") for c in users.c])
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.workspace_id == workspace_id)
            .order_by(memberships.c.created_at, memberships.c.user_id)
        )
        if lock:
            statement = statement.with_for_update(of=memberships)
        found = []
        for row in await self._db.rows(statement):
            user_row = {c.name: row[f"u_{c.name}"] for c in users.c}
            found.append(Member(_membership(row), _user(user_row)))  # type: ignore[arg-type]
        return found

    async def put_membership(self, membership: Membership) -> None:
        row = {
            "workspace_id": membership.workspace_id,
            "user_id": membership.user_id,
            "role": membership.role,
            "created_at": membership.created_at,
            "added_by": membership.added_by,
        }
        statement = insert(memberships).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["workspace_id", "user_id"], set_={"role": statement.excluded.role}
        )
        await self._db.execute(statement)

    async def remove_membership(self, workspace_id: str, user_id: str) -> bool:
        statement = (
            delete(memberships)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id)
            .returning(memberships.c.user_id)
        )
        return await self._db.count(statement) > 0

    async def add_invitation(self, invitation: Invitation) -> None:
        row = {
            "id": invitation.id,
            "workspace_id": invitation.workspace_id,
            "email": invitation.email,
            "role": invitation.role,
            "invited_by": invitation.invited_by,
            "created_at": invitation.created_at,
        }
        statement = insert(invitations).values(row)
        statement = statement.on_conflict_do_update(
            constraint="invitations_workspace_email_key",
            set_={k: statement.excluded[k] for k in row if k not in ("workspace_id", "email")},
        )
        await self._db.execute(statement)

    async def invitations(self, workspace_id: str) -> list[Invitation]:
        statement = (
            select(invitations)
            .where(invitations.c.workspace_id == workspace_id)
            .order_by(invitations.c.created_at, invitations.c.id)
        )
        return [_invitation(row) for row in await self._db.rows(statement)]

    async def invitations_for(self, email: str) -> list[Invitation]:
        statement = (
            select(invitations)
            .where(invitations.c.email == email)
            .order_by(invitations.c.created_at, invitations.c.id)
        )
        return [_invitation(row) for row in await self._db.rows(statement)]

    async def remove_invitation(self, workspace_id: str, invitation_id: str) -> bool:
        statement = (
            delete(invitations)
            .where(invitations.c.workspace_id == workspace_id, invitations.c.id == invitation_id)
            .returning(invitations.c.id)
        )
        return await self._db.count(statement) > 0


class PostgresSessions:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, session: ConsoleSession) -> None:
        await self._db.execute(
            insert(console_sessions).values(
                id_hash=session.id_hash,
                workspace_id=session.workspace_id,
                user_id=session.user_id,
                token_id=session.token_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )

    async def get(self, id_hash: str) -> ConsoleSession | None:
        statement = select(console_sessions).where(console_sessions.c.id_hash == id_hash)
        row = await self._db.first(statement)
        if row is None:
            return None
        return ConsoleSession(
            id_hash=row["id_hash"],
            workspace_id=row["workspace_id"],
            created_at=as_utc(row["created_at"]),
            expires_at=as_utc(row["expires_at"]),
            user_id=row["user_id"],
            token_id=row["token_id"],
        )

    async def remove(self, id_hash: str) -> None:
        await self._db.execute(
            delete(console_sessions).where(console_sessions.c.id_hash == id_hash)
        )

    async def remove_for(self, workspace_id: str, user_id: str) -> None:
        await self._db.execute(
            delete(console_sessions).where(
                console_sessions.c.workspace_id == workspace_id,
                console_sessions.c.user_id == user_id,
            )
        )

    async def remove_expired(self, now: datetime, limit: int) -> int:
        doomed = (
            select(console_sessions.c.id_hash)
            .where(console_sessions.c.expires_at < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            delete(console_sessions)
            .where(console_sessions.c.id_hash.in_(doomed.scalar_subquery()))
            .returning(console_sessions.c.id_hash)
        )
        return await self._db.count(statement)
