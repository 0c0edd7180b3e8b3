"""Reading schedules, secret names, tokens and the caller's workspace."""

from __future__ import annotations

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWorkFactory
from application.queries.workflows import owned_workflow
from application.records import ApiToken, Schedule, Workspace
from application.use_cases.secrets import SecretInfo


class AdminQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def schedules(self, workspace_id: str, workflow_id: str | None = None) -> list[Schedule]:
        async with self._uow() as uow:
            if workflow_id is not None:
                await owned_workflow(uow, workspace_id, workflow_id)
            return await uow.schedules.search(workspace_id, workflow_id=workflow_id)

    async def schedule(self, workspace_id: str, schedule_id: str) -> Schedule:
        async with self._uow() as uow:
            found = await uow.schedules.get(workspace_id, schedule_id)
        if found is None:
            raise NotFound(f"no schedule {schedule_id} in this workspace")
        return found

    async def secrets(self, workspace_id: str) -> list[SecretInfo]:
        """Names and dates only: values never leave the secrets table through here."""
        async with self._uow() as uow:
            stored = await uow.secrets.search(workspace_id)
        return [SecretInfo(s.name, s.created_at, s.updated_at) for s in stored]

    async def tokens(self, workspace_id: str) -> list[ApiToken]:
        async with self._uow() as uow:
            return await uow.tokens.search(workspace_id)

    async def token(self, workspace_id: str, token_id: str) -> ApiToken:
        async with self._uow() as uow:
            found = await uow.tokens.get(workspace_id, token_id)
        if found is None:
            raise NotFound(f"no token {token_id} in this workspace")
        return found

    async def workspace(self, workspace_id: str) -> Workspace:
        async with self._uow() as uow:
            found = await uow.workspaces.get(workspace_id)
        if found is None:
            raise NotFound(f"no workspace {workspace_id}")
        return found
