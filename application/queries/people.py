"""Reading a workspace's members and invitations, and the workspaces a person belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from application.people import Invitation, Member, User
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workspace


@dataclass(frozen=True)
class WorkspaceRole:
    """A workspace a person belongs to, and their role in it."""

    workspace: Workspace
    role: str


class PeopleQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def member(self, workspace_id: str, user_id: str) -> User | None:
        """The person, if they are a member of the workspace."""
        async with self._uow() as uow:
            if await uow.people.membership(workspace_id, user_id) is None:
                return None
            return await uow.people.get_user(user_id)

    async def members(self, workspace_id: str) -> list[Member]:
        async with self._uow() as uow:
            return await uow.people.members(workspace_id)

    async def invitations(self, workspace_id: str) -> list[Invitation]:
        async with self._uow() as uow:
            return await uow.people.invitations(workspace_id)

    async def workspaces_of(self, user_id: str) -> list[WorkspaceRole]:
        """The person's workspaces, oldest membership first."""
        async with self._uow() as uow:
            found = await uow.people.workspaces_of(user_id)
        return [WorkspaceRole(workspace, role) for workspace, role in found]
