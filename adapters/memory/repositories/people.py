"""Users, memberships, invitations and console sessions, in memory."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.repositories.base import Repo
from application.errors import Conflict
from application.people import ConsoleSession, Invitation, Member, Membership, User
from application.records import Workspace


class MemoryPeople(Repo):
    async def add_user(self, user: User) -> None:
        if user.id in self.store.users or await self.find_user(user.issuer, user.subject):
            raise Conflict("this person is already known")
        self.journal.set(self.store.users, user.id, user)

    async def save_user(self, user: User) -> None:
        self.journal.set(self.store.users, user.id, user)

    async def get_user(self, user_id: str) -> User | None:
        return self.store.users.get(user_id)

    async def find_user(self, issuer: str, subject: str) -> User | None:
        found = self.store.users.values()
        return next((u for u in found if (u.issuer, u.subject) == (issuer, subject)), None)

    async def memberships_of(self, user_id: str) -> list[Membership]:
        found = [m for (_, user), m in self.store.memberships.items() if user == user_id]
        return sorted(found, key=lambda m: (m.created_at, m.workspace_id))

    async def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        return self.store.memberships.get((workspace_id, user_id))

    async def workspaces_of(self, user_id: str) -> list[tuple[Workspace, str]]:
        return [
            (self.store.workspaces[m.workspace_id], m.role)
            for m in await self.memberships_of(user_id)
            if m.workspace_id in self.store.workspaces
        ]

    async def members(self, workspace_id: str, *, lock: bool = False) -> list[Member]:
        # One transaction at a time holds the store: `lock` has nothing more to do.
        found = [m for (ws, _), m in self.store.memberships.items() if ws == workspace_id]
        found.sort(key=lambda m: (m.created_at, m.user_id))
        return [Member(m, self.store.users[m.user_id]) for m in found]

    async def put_membership(self, membership: Membership) -> None:
        key = (membership.workspace_id, membership.user_id)
        existing = self.store.memberships.get(key)
        if existing is not None:  # as on PostgreSQL, only the role changes
            membership = Membership(
                existing.workspace_id,
                existing.user_id,
                membership.role,
                existing.created_at,
                existing.added_by,
            )
        self.journal.set(self.store.memberships, key, membership)

    async def remove_membership(self, workspace_id: str, user_id: str) -> bool:
        existed = (workspace_id, user_id) in self.store.memberships
        self.journal.delete(self.store.memberships, (workspace_id, user_id))
        return existed

    async def add_invitation(self, invitation: Invitation) -> None:
        self.journal.set(
            self.store.invitations, (invitation.workspace_id, invitation.email), invitation
        )

    async def invitations(self, workspace_id: str) -> list[Invitation]:
        found = [i for (ws, _), i in self.store.invitations.items() if ws == workspace_id]
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def invitations_for(self, email: str) -> list[Invitation]:
        found = [i for (_, address), i in self.store.invitations.items() if address == email]
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def remove_invitation(self, workspace_id: str, invitation_id: str) -> bool:
        for key, invitation in list(self.store.invitations.items()):
            if invitation.workspace_id == workspace_id and invitation.id == invitation_id:
                self.journal.delete(self.store.invitations, key)
                return True
        return False


class MemorySessions(Repo):
    async def add(self, session: ConsoleSession) -> None:
        if session.id_hash in self.store.sessions:
            raise Conflict("a session with this id exists")
        self.journal.set(self.store.sessions, session.id_hash, session)

    async def get(self, id_hash: str) -> ConsoleSession | None:
        return self.store.sessions.get(id_hash)

    async def remove(self, id_hash: str) -> None:
        self.journal.delete(self.store.sessions, id_hash)

    async def remove_for(self, workspace_id: str, user_id: str) -> None:
        for key, session in list(self.store.sessions.items()):
            if (session.workspace_id, session.user_id) == (workspace_id, user_id):
                self.journal.delete(self.store.sessions, key)

    async def remove_expired(self, now: datetime, limit: int) -> int:
        doomed = [k for k, s in self.store.sessions.items() if s.expires_at < now][:limit]
        for key in doomed:
            self.journal.delete(self.store.sessions, key)
        return len(doomed)
